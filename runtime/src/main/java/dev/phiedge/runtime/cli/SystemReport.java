package dev.phiedge.runtime.cli;

import dev.phiedge.runtime.plan.KernelPlanCache;
import dev.phiedge.runtime.plan.KernelPlanner;
import dev.phiedge.runtime.plan.MachineKey;
import jdk.incubator.vector.FloatVector;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * {@code phi3 inspect --system}: what decides the kernels' speed on this machine (the CPU and the
 * instruction-set flags the kernels can use, the JVM and its vector width and unrolling) and the
 * kernel plan measured here, from the plan cache.
 */
final class SystemReport {
    /** The /proc/cpuinfo flags that matter to the kernels (x86 and ARM). */
    private static final Set<String> FLAGS = Set.of("avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512dq",
            "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "avx512vbmi", "avx512_vbmi2", "amx_tile", "amx_int8", "amx_bf16",
            "asimd", "asimddp", "asimdhp", "fphp", "sve", "sve2", "i8mm", "bf16");

    private SystemReport() { }

    static int print(boolean json, PrintStream out) throws IOException {
        Map<String, Object> r = new LinkedHashMap<>();
        r.put("cpu", MachineKey.cpuName());
        r.put("cpus", Runtime.getRuntime().availableProcessors());
        r.put("cpu_flags", List.copyOf(cpuFlags()));
        r.put("java", System.getProperty("java.vm.name") + " " + Runtime.version());
        r.put("vector_bits", FloatVector.SPECIES_PREFERRED.vectorBitSize());
        r.put("float_lanes", FloatVector.SPECIES_PREFERRED.length());
        for (String flag : List.of("MaxVectorSize", "UseAVX", "LoopUnrollLimit")) r.put(flag, MachineKey.vmOption(flag));
        KernelPlanner planner = KernelPlanner.fromSystemProperties();
        KernelPlanCache cache = planner.cache();
        r.put("kernel_plan_mode", planner.mode().name().toLowerCase(java.util.Locale.ROOT));
        r.put("kernel_plan_cache", cache == null ? null : cache.file().toString());
        List<String> notes = new ArrayList<>();
        List<Map<String, Object>> plan = new ArrayList<>();
        if (cache != null) {
            for (KernelPlanCache.Entry e : cache.entries(notes)) {
                Map<String, Object> row = new LinkedHashMap<>();
                row.put("machine", e.machine());
                row.put("this_machine", e.machine().startsWith(MachineKey.current(1).platform() + " | "));
                row.put("type", e.choice().group().type().name());
                row.put("cols", e.choice().group().cols());
                row.put("kernel", e.choice().kernel().label());
                row.put("integer_gb_per_s", e.choice().integerGbps());
                row.put("float_gb_per_s", e.choice().floatGbps());
                row.put("integer_bytes_gb_per_s", e.choice().integerBytesGbps());
                row.put("measured", e.choice().measuredOn());
                plan.add(row);
            }
        }
        r.put("kernel_plan", plan);
        r.put("notes", notes);
        if (json) {
            out.println(JsonWriter.write(r));
            return 0;
        }
        out.printf("cpu          %s, %s cpus%n", r.get("cpu"), r.get("cpus"));
        out.printf("cpu flags    %s%n", String.join(" ", cpuFlags()));
        out.printf("java         %s%n", r.get("java"));
        out.printf("vectors      %s-bit (%s float lanes); MaxVectorSize %s, UseAVX %s, LoopUnrollLimit %s%n", r.get("vector_bits"),
                r.get("float_lanes"), r.get("MaxVectorSize"), r.get("UseAVX"), r.get("LoopUnrollLimit"));
        out.printf("kernel plan  %s; cache %s%n", r.get("kernel_plan_mode"), cache == null ? "none" : cache.file()
                + (Files.exists(cache.file()) ? "" : " (not written yet: the first model load measures)"));
        String machine = null;
        for (Map<String, Object> row : plan) {
            if (!row.get("machine").equals(machine)) {
                machine = (String) row.get("machine");
                out.printf("  %s%s%n", machine, Boolean.TRUE.equals(row.get("this_machine")) ? "  (this machine)" : "");
            }
            double bytes = (Double) row.get("integer_bytes_gb_per_s");
            out.printf("    %-5s x %-6s %-13s integer %6.2f GB/s, float %6.2f GB/s%s, measured %s%n", row.get("type"), row.get("cols"),
                    row.get("kernel"), (Double) row.get("integer_gb_per_s"), (Double) row.get("float_gb_per_s"),
                    bytes > 0 ? String.format(java.util.Locale.ROOT, ", integer-bytes %6.2f GB/s", bytes) : "", row.get("measured"));
        }
        for (String note : notes) out.println("note: " + note);
        return 0;
    }

    private static Set<String> cpuFlags() throws IOException {
        Set<String> found = new TreeSet<>();
        Path p = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(p)) return found;
        for (String line : Files.readAllLines(p)) {
            if (line.startsWith("flags") || line.startsWith("Features")) {
                for (String f : line.substring(line.indexOf(':') + 1).trim().split("\\s+")) {
                    if (FLAGS.contains(f)) found.add(f);
                }
                break;
            }
        }
        return found;
    }
}
