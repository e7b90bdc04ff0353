package dev.phiedge.runtime.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code phi3 selftest} on this machine: at the JVM's own vector width in this JVM, and at 128 bits
 * (-XX:MaxVectorSize=16, the width of NEON on a Raspberry Pi 4/5) and at 64 bits (too narrow for the vector
 * kernels: the scalar ones only) in child JVMs. Every kernel must match its scalar ground truth, and the
 * species line must say what the JVM chose.
 */
class SelftestCommandTest {
    private static final String[] TYPES = {"F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q4_K", "Q5_K", "Q6_K"};

    record Result(int status, String out, String err) {}

    private static Result run(String... args) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        int status = new Phi3Cli(new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8)).run(args);
        return new Result(status, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
    }

    /** Each tensor type has its line, checked ok, and the kernel groups too. */
    private static void assertAllOk(String out) {
        for (String type : TYPES) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(type + " ") && l.contains(" ok (")), type + " in\n" + out);
        }
        for (String group : List.of("batched products", "attention (F16 cache)", "activations (SwiGLU, softmax)")) {
            assertTrue(out.lines().anyMatch(l -> l.startsWith(group) && l.contains(" ok (")), group + " in\n" + out);
        }
        assertTrue(out.contains("OK: every kernel matched its scalar ground truth (11 tensor types, 3 kernel groups"), out);
    }

    @Test
    void everyKernelMatchesAtThisJvmsWidth() {
        Result r = run("selftest", "--seconds", "2");
        assertEquals(0, r.status(), r.out() + r.err());
        assertAllOk(r.out());
        int lanes = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length();
        assertTrue(r.out().contains("vector species: " + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED + " (jdk.incubator.vector"
                + " FloatVector.SPECIES_PREFERRED): " + lanes + " float lanes"), r.out());
        assertTrue(r.out().contains("MaxVectorSize="), r.out());
        // float dot and matVec, dequantize, quantize activations, integer dot and matVec: 6 kernels; on 16 lanes
        // Q8_0 and Q4_0 also have the integer matVec on byte quants (WeightTensor.hasByteActivationKernel)
        for (String type : new String[] {"Q8_0", "Q4_0", "Q4_K", "Q6_K"}) {
            int kernels = lanes == 16 && type.endsWith("_0") ? 7 : 6;
            assertTrue(r.out().lines().anyMatch(l -> l.startsWith(type + " ") && l.contains(" ok (" + kernels + " kernels)")), type + " in\n" + r.out());
        }
    }

    /** The 128-bit path, as a Pi's NEON runs it: 4 lanes, the 4-lane integer kernels. */
    @Test
    void everyKernelMatchesOn128BitVectors() throws Exception {
        String out = child("-XX:MaxVectorSize=16", "2");
        assertTrue(out.contains("Species[float, 4, S_128_BIT]") && out.contains("4 float lanes, 128 bits; MaxVectorSize=16"), out);
        assertTrue(out.contains("kernels: the Vector API kernels at 4 lanes (integer kernels: 128-bit for all types)"), out);
        assertAllOk(out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("Q8_0 ") && l.contains("vector + dotQ8On128")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("Q6_K ") && l.contains("vector + dotQ8 ")), out);
        assertTrue(out.lines().anyMatch(l -> l.startsWith("Q4_K ") && l.contains("vector + dotQ8 ")), out);
    }

    /** 64-bit vectors hold 2 floats: the vector kernels stay off and every type runs (and checks) its scalar kernels. */
    @Test
    void withVectorsTooNarrowTheScalarKernelsRunAndPass() throws Exception {
        String out = child("-XX:MaxVectorSize=8", "1");
        assertTrue(out.contains("2 float lanes") && out.contains("kernels: scalar only"), out);
        assertAllOk(out);
        assertTrue(out.lines().filter(l -> l.matches("^[A-Z0-9_]+ +scalar.*")).count() == TYPES.length, out);
    }

    @Test
    void anUnknownTypeIsAUsageError() {
        Result r = run("selftest", "--types", "Q4_0,Q3_K");
        assertEquals(2, r.status());
        assertTrue(r.err().startsWith("phi3: --types: no tensor type 'Q3_K' (the types: F32, F16, "), r.err());
        assertEquals("", r.out());
    }

    /** phi3 selftest --seconds {@code seconds} in a JVM of its own with {@code vmOption}, as the launcher runs it; its output. */
    private static String child(String vmOption, String seconds) throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> command = new ArrayList<>(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "-XX:LoopUnrollLimit=400", vmOption, "-cp", System.getProperty("java.class.path"), Phi3Cli.class.getName(),
                "selftest", "--seconds", seconds));
        Path log = Files.createTempFile("selftest", ".out");
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            assertTrue(p.waitFor(300, TimeUnit.SECONDS), "selftest " + vmOption + " did not end in 300 s");
            String out = Files.readString(log);
            assertEquals(0, p.exitValue(), vmOption + ":\n" + out);
            return out;
        } finally {
            Files.deleteIfExists(log);
        }
    }
}
