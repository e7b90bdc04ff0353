package dev.phiedge.runtime.plan;

import jdk.incubator.vector.FloatVector;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * What a kernel measurement depends on besides the model: the CPU model, the vector width the JVM
 * uses, the JVM version (its C2 compiles the kernels), {@code -XX:LoopUnrollLimit} (the K-quant
 * kernels are unrolled only from 300) and the number of threads. Two machines with equal keys are
 * expected to choose the same kernels; a change of any part measures again.
 *
 * @param cpu the CPU as {@code /proc/cpuinfo} names it ("model name" on x86; implementer and part
 *            numbers on ARM, which has no model name), else {@code os.arch}
 */
public record MachineKey(String cpu, int vectorBits, String jvm, long loopUnrollLimit, int threads) {

    public MachineKey {
        if (cpu.indexOf('\t') >= 0 || cpu.indexOf('\n') >= 0) cpu = cpu.replaceAll("[\t\n]", " ");
    }

    /** This machine's key for products on {@code threads} threads. */
    public static MachineKey current(int threads) {
        return new MachineKey(cpuName(), FloatVector.SPECIES_PREFERRED.vectorBitSize(), Runtime.version().toString(),
                currentLoopUnrollLimit(), threads);
    }

    /** One line, the cache file's first column. */
    public String text() {
        return platform() + " | " + threads + " threads";
    }

    /** The key without the threads: the CPU, vector width, JVM and unrolling. */
    public String platform() {
        return String.format(Locale.ROOT, "%s | %d-bit vectors | java %s | LoopUnrollLimit %d", cpu, vectorBits, jvm, loopUnrollLimit);
    }

    /** The CPU's name from /proc/cpuinfo, or the architecture where there is none. */
    public static String cpuName() {
        String arch = System.getProperty("os.arch");
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            String implementer = null, part = null;
            for (String line : lines) {
                int colon = line.indexOf(':');
                if (colon < 0) continue;
                String key = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (key.equals("model name") && !value.isEmpty()) return value;
                if (key.equals("CPU implementer") && implementer == null) implementer = value;
                if (key.equals("CPU part") && part == null) part = value;
            }
            if (implementer != null && part != null) return arch + " implementer " + implementer + " part " + part;
        } catch (IOException | RuntimeException e) {
            // not Linux: the architecture alone
        }
        return arch;
    }

    private static long currentLoopUnrollLimit() {
        String v = vmOption("LoopUnrollLimit");
        return v.equals("n/a") ? 0 : Long.parseLong(v);
    }

    /** A HotSpot option's value, or "n/a" (not HotSpot, not this platform's option, or no jdk.management). */
    public static String vmOption(String name) {
        try {
            var bean = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
            return bean.getVMOption(name).getValue();
        } catch (RuntimeException | LinkageError e) {
            return "n/a";
        }
    }
}
