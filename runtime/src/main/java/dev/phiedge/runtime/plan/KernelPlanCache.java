package dev.phiedge.runtime.plan;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.matmul.KernelPlan.Choice;
import dev.phiedge.runtime.matmul.KernelPlan.Group;
import dev.phiedge.runtime.matmul.KernelPlan.Kernel;
import dev.phiedge.runtime.matmul.KernelPlan.Source;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The kernel measurements of {@link KernelPlanner}, kept in a text file so that each kind of machine
 * measures once. One line per machine, type and row length, tab-separated:
 * <pre>
 * machine-key  type  cols  kernel  integer-GB/s  float-GB/s  integer-bytes-GB/s  date
 * AMD EPYC | 512-bit vectors | java 25.0.1+8-LTS | LoopUnrollLimit 400 | 2 threads	Q4_0	3072	INTEGER	11.93	8.410	10.87	2026-12-06
 * </pre>
 * A speed of 0 means not measured there (not a candidate). Lines starting with {@code #} are comments. A line that does not parse is skipped with a note (the
 * group is measured again and the line replaced). The file is replaced atomically, so a reader never
 * sees half of it; the last of two processes writing at once wins, which loses only a measurement.
 */
public final class KernelPlanCache {
    private static final String HEADER = "# phi3 kernel plan: the decode kernel measured fastest per machine, type and row length.\n"
            + "# Written by the runtime (KernelPlanner); delete the file, or run with -Dphiedge.kernels=remeasure, to measure again.\n";

    private final Path file;

    public KernelPlanCache(Path file) {
        this.file = java.util.Objects.requireNonNull(file, "file");
    }

    public Path file() {
        return file;
    }

    /**
     * The cache file: {@code -Dphiedge.kernels.cache}, else {@code kernel-plan.tsv} in the first of
     * {@code $PHIEDGE_CACHE_DIR}, systemd's {@code $CACHE_DIRECTORY}, {@code $XDG_CACHE_HOME/phiedge},
     * {@code ~/.cache/phiedge}; null when none can be named.
     */
    public static Path defaultFile() {
        String explicit = System.getProperty("phiedge.kernels.cache");
        if (explicit != null && !explicit.isBlank()) return Path.of(explicit);
        return fileIn(System.getenv(), System.getProperty("user.home"));
    }

    /** {@link #defaultFile()} from these environment variables and home folder (no system property). */
    public static Path fileIn(Map<String, String> env, String home) {
        String dir = env.get("PHIEDGE_CACHE_DIR");
        if (dir == null || dir.isBlank()) {
            String systemd = env.get("CACHE_DIRECTORY"); // systemd's CacheDirectory=, possibly several, ':'-separated
            if (systemd != null && !systemd.isBlank()) dir = systemd.split(":")[0];
        }
        if (dir == null || dir.isBlank()) {
            String xdg = env.get("XDG_CACHE_HOME");
            if (xdg != null && !xdg.isBlank()) dir = Path.of(xdg, "phiedge").toString();
        }
        if (dir == null || dir.isBlank()) {
            if (home == null || home.isBlank() || home.equals("?")) return null;
            dir = Path.of(home, ".cache", "phiedge").toString();
        }
        return Path.of(dir, "kernel-plan.tsv");
    }

    /** One cached measurement: the machine key's text and the choice. */
    public record Entry(String machine, Choice choice) {}

    /** Every cached measurement, sorted by machine, type and row length. */
    public List<Entry> entries(List<String> notes) {
        return readAll(notes).entrySet().stream().sorted(Map.Entry.comparingByKey())
                .map(e -> new Entry(e.getKey().substring(0, e.getKey().indexOf('\t')), e.getValue())).toList();
    }

    /** The cached choices for {@code machine}; notes say what was skipped and why. */
    public Map<Group, Choice> read(MachineKey machine, List<String> notes) {
        Map<Group, Choice> choices = new HashMap<>();
        for (Map.Entry<String, Choice> e : readAll(notes).entrySet()) {
            if (e.getKey().startsWith(machine.text() + "\t")) choices.put(e.getValue().group(), e.getValue());
        }
        return choices;
    }

    /** Adds or replaces {@code measured} for {@code machine}, keeping every other line. */
    public void write(MachineKey machine, List<Choice> measured, List<String> notes) {
        Map<String, Choice> all = readAll(new ArrayList<>());
        for (Choice c : measured) all.put(key(machine, c.group()), c);
        StringBuilder text = new StringBuilder(HEADER);
        all.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> {
            Choice c = e.getValue();
            text.append(e.getKey()).append('\t').append(c.kernel()).append('\t')
                    .append(String.format(Locale.ROOT, "%.4g\t%.4g\t%.4g", c.integerGbps(), c.floatGbps(), c.integerBytesGbps()))
                    .append('\t').append(c.measuredOn()).append('\n');
        });
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, "kernel-plan", ".tmp");
            try {
                Files.writeString(tmp, text, StandardCharsets.UTF_8);
                try {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
                } catch (AtomicMoveNotSupportedException e) {
                    Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
                }
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException | RuntimeException e) {
            notes.add("kernel plan not cached (" + file + ": " + e + "); it will be measured again next time");
        }
    }

    private static String key(MachineKey machine, Group g) {
        return machine.text() + "\t" + g.type() + "\t" + g.cols();
    }

    /** Every parsable line, by its key (machine, type, cols). */
    private Map<String, Choice> readAll(List<String> notes) {
        Map<String, Choice> all = new LinkedHashMap<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return all;
        } catch (IOException | RuntimeException e) {
            notes.add("kernel plan cache " + file + " not read (" + e + "); measuring");
            return all;
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank() || line.startsWith("#")) continue;
            String[] f = line.split("\t", -1);
            try {
                if (f.length != 8) throw new IllegalArgumentException(f.length + " fields, expected 8");
                Group g = new Group(GgmlType.valueOf(f[1]), Integer.parseInt(f[2]));
                Kernel k = Kernel.valueOf(f[3]);
                double gi = Double.parseDouble(f[4]), gf = Double.parseDouble(f[5]), gb = Double.parseDouble(f[6]);
                for (double v : new double[] {gi, gf, gb}) {
                    if (!(v >= 0 && Double.isFinite(v))) throw new IllegalArgumentException("a speed must be 0 or positive, got " + v);
                }
                Choice c = new Choice(g, k, Source.CACHED, k, gi, gf, gb, f[7]);
                if (!(c.gbps(k) > 0)) throw new IllegalArgumentException(k + " was chosen but not measured");
                all.put(f[0] + "\t" + f[1] + "\t" + f[2], c);
            } catch (IllegalArgumentException e) {
                notes.add("kernel plan cache " + file + " line " + (i + 1) + " skipped: " + e.getMessage());
            }
        }
        return all;
    }
}
