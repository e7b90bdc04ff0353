package dev.phiedge.runtime.cli;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.model.ModelKernelSelfTest;
import dev.phiedge.runtime.tensor.KernelSelfTest;
import jdk.incubator.vector.FloatVector;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * {@code phi3 selftest} (and {@code edge-agent selftest}): the first thing to run on a new board. Shows the
 * JVM's vector species and width, checks every kernel this CPU runs against its scalar ground truth on small
 * random rows ({@link KernelSelfTest}, {@link ModelKernelSelfTest}), after C2 has compiled them, and prints a
 * short speed line per tensor type. Exit status 0 when everything matched, 1 otherwise (the failing types
 * and kernels are named), 2 on a command-line mistake.
 */
public final class SelftestCommand {
    static final double DEFAULT_SECONDS = 20;
    static final long DEFAULT_SEED = 1;

    static final CommandSpec SPEC = new CommandSpec("selftest", "[--seconds S] [--types T,...]",
            "check this CPU's vector kernels against the scalar ground truth",
            """
            Shows the vector species the JVM chose, then checks every tensor type's kernels (float and integer dot
            products, dequantization, activation quantization) and the forward pass's kernels (batched products,
            attention over the F16 cache, SwiGLU, softmax) against scalar ground truth on small random rows: cold,
            then repeatedly until C2 has compiled them (the C2 column), then once more; and times each type's
            products (1 thread, half a second). Exit status 0 when all match, 1 when one does not (the type and
            kernel are named).""",
            List.of(CommandSpec.valued("seconds", "S", "the most time per tensor type to repeat the checks while waiting for C2 to"
                            + " compile the kernels (default: " + fmt(DEFAULT_SECONDS) + "; a few seconds suffice on a board, more under emulation)"),
                    CommandSpec.valued("types", "T,...", "only these tensor types (default: all: " + String.join(", ",
                            KernelSelfTest.TYPES.stream().map(Enum::name).toList()) + ")"),
                    CommandSpec.valued("seed", "N", "the random rows' seed (default: " + DEFAULT_SEED + ")")));

    private SelftestCommand() {}

    private static String fmt(double v) {
        return v == (long) v ? Long.toString((long) v) : Double.toString(v);
    }

    /**
     * The command for another program's command line ({@code edge-agent selftest}): {@code args[0]} is
     * "selftest", the options follow; error lines start with {@code program + ": "}.
     */
    public static int main(String program, String[] args, PrintStream out, PrintStream err) {
        if (SPEC.asksForHelp(args, 1)) {
            out.print(SPEC.help().replace("phi3 ", program + " "));
            return 0;
        }
        try {
            return run(SPEC.parse(args, 1), out, err);
        } catch (Args.UsageException | IllegalArgumentException e) {
            err.println(program + ": " + e.getMessage() + " (see " + program + " selftest --help)");
            return 2;
        }
    }

    static int run(Args a, PrintStream out, PrintStream err) {
        double seconds = a.number("seconds", (float) DEFAULT_SECONDS);
        if (!(seconds > 0) || seconds > 600) throw new Args.UsageException("--seconds must be more than 0 and at most 600, got " + a.string("seconds"));
        long seed = a.longValue("seed", DEFAULT_SEED);
        List<GgmlType> types = KernelSelfTest.TYPES;
        if (a.has("types")) {
            List<GgmlType> chosen = new ArrayList<>();
            for (String name : a.string("types").split(",")) {
                GgmlType type = KernelSelfTest.TYPES.stream().filter(t -> t.name().equalsIgnoreCase(name.strip())).findFirst()
                        .orElseThrow(() -> new Args.UsageException("--types: no tensor type '" + name.strip() + "' (the types: "
                                + String.join(", ", KernelSelfTest.TYPES.stream().map(Enum::name).toList()) + ")"));
                chosen.add(type);
            }
            types = List.copyOf(new LinkedHashSet<>(chosen));
        }
        long start = System.nanoTime();
        describeMachine(out);
        out.println();
        out.printf(Locale.ROOT, "%-6s %-22s %-16s %6s  %-18s %s%n", "type", "kernels", "checks", "passes", "C2 code, after",
                "speed, 1 thread, " + KernelSelfTest.SPEED_ROWS + " x " + KernelSelfTest.SPEED_COLS + " (weight GB/s)");
        Set<String> failed = new LinkedHashSet<>();
        List<String> problems = new ArrayList<>();
        for (GgmlType type : types) {
            KernelSelfTest.Result r = KernelSelfTest.run(type, seed, seconds);
            String integer = KernelSelfTest.integerKernels(type);
            String speed = String.format(Locale.ROOT, "%s %6.2f", KernelSelfTest.kernelKind(type), r.floatGbps());
            if (!Double.isNaN(r.integerGbps())) speed += String.format(Locale.ROOT, ", integer %6.2f", r.integerGbps());
            out.printf(Locale.ROOT, "%-6s %-22s %-16s %6d  %-18s %s%n", type,
                    KernelSelfTest.kernelKind(type) + (integer != null && !integer.equals("scalar") ? " + " + integer : ""),
                    r.ok() ? "ok (" + r.checked().size() + " kernels)" : "FAILED", r.passes(), r.c2(), speed);
            if (!r.ok()) {
                failed.add(type.name());
                r.failures().forEach((kernel, what) -> problems.add(type + " " + kernel + ": " + what));
            }
        }
        for (String group : ModelKernelSelfTest.GROUPS) {
            ModelKernelSelfTest.Result r = ModelKernelSelfTest.run(group, seed, seconds);
            out.printf(Locale.ROOT, "%-29s %-16s %6d  %s%n", group, r.ok() ? "ok (" + r.checked().size() + " kernels)" : "FAILED",
                    r.passes(), r.c2());
            if (!r.ok()) {
                failed.add(group);
                r.failures().forEach((kernel, what) -> problems.add(kernel + ": " + what));
            }
        }
        out.println();
        double total = (System.nanoTime() - start) / 1e9;
        if (failed.isEmpty()) {
            out.printf(Locale.ROOT, "OK: every kernel matched its scalar ground truth (%d tensor types, %d kernel groups; %.1f s)%n",
                    types.size(), ModelKernelSelfTest.GROUPS.size(), total);
            return 0;
        }
        for (String p : problems) out.println("FAIL " + p);
        out.printf(Locale.ROOT, "FAILED: %s (seed %d; %.1f s)%n", String.join(", ", failed), seed, total);
        err.println("selftest: kernels that do not match their scalar ground truth: " + String.join(", ", failed));
        return 1;
    }

    /** The JVM, the CPU's architecture and the vector species the kernels use. */
    private static void describeMachine(PrintStream out) {
        out.printf(Locale.ROOT, "Java %s (%s), %s, %d CPUs%n", Runtime.version(), System.getProperty("java.vm.vendor"),
                System.getProperty("os.arch"), Runtime.getRuntime().availableProcessors());
        StringBuilder flags = new StringBuilder("MaxVectorSize=" + vmOption("MaxVectorSize"));
        for (String option : List.of("UseSVE", "UseAVX")) {
            String v = vmOption(option);
            if (v != null) flags.append(", ").append(option).append('=').append(v);
        }
        out.printf(Locale.ROOT, "vector species: %s (jdk.incubator.vector FloatVector.SPECIES_PREFERRED): %d float lanes, %d bits; %s%n",
                FloatVector.SPECIES_PREFERRED, KernelSelfTest.lanes(), FloatVector.SPECIES_PREFERRED.vectorBitSize(), flags);
        out.println(KernelSelfTest.vectorKernelsEnabled()
                ? "kernels: the Vector API kernels at " + KernelSelfTest.lanes() + " lanes (integer kernels: "
                        + (KernelSelfTest.lanes() == 4 ? "128-bit for all types" : KernelSelfTest.lanes() == 8
                        ? "128-bit for Q4_0 and Q8_0, " + KernelSelfTest.lanes() * 32 + "-bit for the K-quants" : "512-bit") + ")"
                : "kernels: scalar only (the Vector API kernels need 4, 8 or 16 float lanes; this JVM has " + KernelSelfTest.lanes() + ")");
    }

    /** A HotSpot flag's value, or null where this JVM has no such flag. */
    static String vmOption(String name) {
        try {
            return ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class).getVMOption(name).getValue();
        } catch (IllegalArgumentException | UnsupportedOperationException | LinkageError e) {
            return null;
        }
    }

}
