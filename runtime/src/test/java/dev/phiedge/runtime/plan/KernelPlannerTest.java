package dev.phiedge.runtime.plan;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.matmul.ThreadedMatVec;
import dev.phiedge.runtime.matmul.KernelPlan;
import dev.phiedge.runtime.matmul.KernelPlan.Choice;
import dev.phiedge.runtime.matmul.KernelPlan.Group;
import dev.phiedge.runtime.matmul.KernelPlan.Kernel;
import dev.phiedge.runtime.matmul.KernelPlan.Source;
import dev.phiedge.runtime.plan.KernelPlanner.Mode;
import dev.phiedge.runtime.tensor.FloatKernelsMatchScalarTest;
import dev.phiedge.runtime.tensor.WeightTensor;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The kernel planner: which groups it measures, the margin rule, the cache (reused on the same
 * machine, ignored for another, rewritten where a line is corrupt, a note where it cannot be written).
 * Which kernel is faster is this machine's business, so the tests check the choice against the
 * figures the planner reports and the margin rule, never a fixed winner; speed is not asserted.
 */
class KernelPlannerTest {
    private static ThreadedMatVec team;
    private static List<WeightTensor> matrices;

    @BeforeAll
    static void setUp() {
        team = new ThreadedMatVec(2);
        Random rnd = new Random(5);
        matrices = new ArrayList<>();
        // two Q4_0 matrices of one row length (one group), Q8_0 at two row lengths (two groups), a K-quant,
        // and F16, which has no integer kernel and so is not planned
        for (Object[] t : new Object[][] {{GgmlType.Q4_0, 64, 256}, {GgmlType.Q4_0, 32, 256}, {GgmlType.Q8_0, 48, 256},
                {GgmlType.Q8_0, 16, 512}, {GgmlType.Q4_K, 32, 512}, {GgmlType.F16, 16, 256}}) {
            GgmlType type = (GgmlType) t[0];
            int rows = (int) t[1], cols = (int) t[2];
            var data = Arena.ofAuto().allocate(type.bytesFor(cols) * rows, 64).copyFrom(FloatKernelsMatchScalarTest.randomWeights(type, rows, cols, rnd));
            matrices.add(WeightTensor.of(type, data, rows, cols));
        }
    }

    @AfterAll
    static void tearDown() {
        team.close();
    }

    /** The test set's groups with a choice of kernels at this width (none on 4 lanes, where only the integer kernels run). */
    private static Set<Group> plannedGroups() {
        return matrices.stream().filter(w -> KernelPlanner.candidates(w).size() > 1).map(KernelPlan.Group::of).collect(Collectors.toSet());
    }

    private static void assumeSomethingToPlan() {
        org.junit.jupiter.api.Assumptions.assumeFalse(plannedGroups().isEmpty(), "no type of the test set has a choice of kernels at this width");
    }

    private static KernelPlanner planner(Mode mode, Path cache) {
        return new KernelPlanner(mode, cache == null ? null : new KernelPlanCache(cache), 5);
    }

    @Test
    void aKernelMustBeatTheRulesChoiceByMoreThanTheMargin() {
        Group g = new Group(GgmlType.Q8_0, 3072);
        // rule: integer. Float 2% faster: a tie, the rule stays; 4% faster: float.
        assertEquals(Kernel.INTEGER, KernelPlanner.choose(g, Kernel.INTEGER, 10.0, 10.2, 0, Source.MEASURED, "d").kernel());
        assertEquals(Kernel.FLOAT, KernelPlanner.choose(g, Kernel.INTEGER, 10.0, 10.4, 0, Source.MEASURED, "d").kernel());
        // rule: float. Integer 3.1% faster: integer; the rule's own kernel faster: the rule.
        assertEquals(Kernel.INTEGER, KernelPlanner.choose(g, Kernel.FLOAT, 10.31, 10.0, 0, Source.MEASURED, "d").kernel());
        assertEquals(Kernel.FLOAT, KernelPlanner.choose(g, Kernel.FLOAT, 9.0, 10.0, 0, Source.MEASURED, "d").kernel());
        // three candidates: the fastest wins when it beats the rule's by the margin, whichever is second
        assertEquals(Kernel.INTEGER_BYTES, KernelPlanner.choose(g, Kernel.INTEGER, 10.8, 8.9, 16.7, Source.MEASURED, "d").kernel());
        assertEquals(Kernel.INTEGER, KernelPlanner.choose(g, Kernel.INTEGER, 16.7, 8.9, 15.8, Source.MEASURED, "d").kernel());
        assertEquals(Kernel.FLOAT, KernelPlanner.choose(g, Kernel.INTEGER, 10.0, 12.0, 11.0, Source.MEASURED, "d").kernel());
        Choice tie = KernelPlanner.choose(g, Kernel.INTEGER, 10.0, 10.2, 0, Source.MEASURED, "2026-12-06");
        assertEquals("Q8_0 x 3072: integer (integer 10.0 GB/s, float 10.2 GB/s: within 3%: the built-in rule's; measured now)", tie.describe());
        Choice bytes = KernelPlanner.choose(g, Kernel.INTEGER, 10.8, 8.9, 16.7, Source.MEASURED, "2026-12-06");
        assertEquals("Q8_0 x 3072: integer-bytes (integer 10.8 GB/s, float 8.9 GB/s, integer-bytes 16.7 GB/s: fastest; measured now)",
                bytes.describe());
    }

    @Test
    void measuringCoversEachGroupWithAnIntegerKernelAndCachesIt(@TempDir Path dir) throws Exception {
        assumeSomethingToPlan();
        Path cache = dir.resolve("sub/kernel-plan.tsv");
        KernelPlanner first = planner(Mode.MEASURE, cache);
        KernelPlan plan = first.plan(matrices, team);
        // the groups with a choice: two or more candidate kernels at this width (F16 has one; on 16 lanes
        // all four quantized groups: Q4_0 has integer on shorts and on bytes, Q8_0 all three, Q4_K two)
        Set<Group> expected = plannedGroups();
        if (jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.length() == 16) {
            assertEquals(Set.of(new Group(GgmlType.Q4_0, 256), new Group(GgmlType.Q8_0, 256), new Group(GgmlType.Q8_0, 512),
                    new Group(GgmlType.Q4_K, 512)), expected);
        }
        assertEquals(expected, plan.choices().stream().map(Choice::group).collect(Collectors.toSet()));
        for (Choice c : plan.choices()) {
            assertEquals(Source.MEASURED, c.source());
            // the choice follows from the figures by the margin rule
            assertEquals(KernelPlanner.choose(c.group(), c.rule(), c.integerGbps(), c.floatGbps(), c.integerBytesGbps(), Source.MEASURED, "").kernel(),
                    c.kernel(), c.describe());
            // a figure exactly for the kernels the type has here: integer always, float unless it boxes at this
            // width (not Q4_0's), integer on byte quants for Q4_0 and Q8_0 on 16 lanes
            WeightTensor any = matrices.stream().filter(w -> KernelPlan.Group.of(w).equals(c.group())).findFirst().orElseThrow();
            assertTrue(c.integerGbps() > 0, c.describe());
            assertEquals(!any.floatDecodeKernelBoxes(), c.floatGbps() > 0, c.describe());
            assertEquals(any.hasByteActivationKernel(), c.integerBytesGbps() > 0, c.describe());
        }
        for (WeightTensor w : matrices) {
            Choice c = plan.choices().stream().filter(x -> x.group().equals(KernelPlan.Group.of(w))).findFirst().orElse(null);
            // unplanned: the built-in rule (F16: float; at widths where a type has one kernel only: that one)
            Kernel unplanned = w.activationFormat() == dev.phiedge.runtime.tensor.Q8Activations.Format.F32 ? Kernel.FLOAT : KernelPlan.ruleOf(w);
            assertEquals(c == null ? unplanned : c.kernel(), plan.kernel(w), w.toString());
            assertEquals(c != null && c.kernel() != Kernel.FLOAT, plan.quantizedActivations(w), w.toString());
        }
        assertTrue(first.notes().isEmpty(), first.notes().toString());

        // the file: a comment header and one line per group, this machine's key first
        List<String> lines = Files.readAllLines(cache).stream().filter(l -> !l.startsWith("#")).toList();
        assertEquals(expected.size(), lines.size(), lines.toString());
        String machine = MachineKey.current(2).text();
        for (String line : lines) assertTrue(line.startsWith(machine + "\t"), line);

        // a second planner on the same machine reads it instead of measuring
        KernelPlan again = planner(Mode.MEASURE, cache).plan(matrices, team);
        Map<Group, Choice> before = plan.choices().stream().collect(Collectors.toMap(Choice::group, c -> c));
        for (Choice c : again.choices()) {
            assertEquals(Source.CACHED, c.source(), c.toString());
            assertEquals(before.get(c.group()).kernel(), c.kernel());
            assertEquals(before.get(c.group()).integerGbps(), c.integerGbps(), 0.006);
            assertTrue(c.describe().contains("cached, measured " + java.time.LocalDate.now()), c.describe());
        }
        // remeasure measures again; rules measure nothing
        assertTrue(planner(Mode.REMEASURE, cache).plan(matrices, team).choices().stream().allMatch(c -> c.source() == Source.MEASURED));
        assertTrue(planner(Mode.RULES, cache).plan(matrices, team).choices().isEmpty());
    }

    @Test
    void aCachedChoiceIsUsedOnlyOnTheMachineItWasMeasuredOn(@TempDir Path dir) throws Exception {
        Path cache = dir.resolve("kernel-plan.tsv");
        String here = MachineKey.current(2).text();
        String other = new MachineKey("Some Other CPU", 256, "25", 400, 2).text();
        // on this machine Q8_0 x 512 is written down as float (whatever the rule says), on another Q8_0 x 256 as integer
        Files.writeString(cache, "# test\n"
                + here + "\tQ8_0\t512\tFLOAT\t1.00\t2.00\t0\t2026-01-02\n"
                + other + "\tQ8_0\t256\tINTEGER\t9.00\t1.00\t0\t2026-01-03\n");
        WeightTensor q8x512 = matrices.stream().filter(w -> w.type() == GgmlType.Q8_0 && w.cols() == 512).findFirst().orElseThrow();
        org.junit.jupiter.api.Assumptions.assumeTrue(KernelPlanner.candidates(q8x512).contains(Kernel.FLOAT), "Q8_0's float kernel is no choice at this width");
        KernelPlanner planner = planner(Mode.MEASURE, cache);
        KernelPlan plan = planner.plan(matrices, team);
        Choice cached = plan.choices().stream().filter(c -> c.group().equals(new Group(GgmlType.Q8_0, 512))).findFirst().orElseThrow();
        assertEquals(Kernel.FLOAT, cached.kernel());
        assertEquals(Source.CACHED, cached.source());
        assertEquals("2026-01-02", cached.measuredOn());
        assertEquals(Kernel.FLOAT, plan.kernel(q8x512));
        Choice q8 = plan.choices().stream().filter(c -> c.group().equals(new Group(GgmlType.Q8_0, 256))).findFirst().orElseThrow();
        assertEquals(Source.MEASURED, q8.source()); // the other machine's line does not count here
        // ... and survives the rewrite
        String text = Files.readString(cache);
        assertTrue(text.contains(other + "\tQ8_0\t256\tINTEGER\t9.000\t1.000\t0.000\t2026-01-03"), text);
        assertTrue(text.contains(here + "\tQ8_0\t512\tFLOAT\t1.000\t2.000\t0.000\t2026-01-02"), text);
    }

    @Test
    void aCorruptLineIsSkippedWithANoteAndReplaced(@TempDir Path dir) throws Exception {
        assumeSomethingToPlan();
        Path cache = dir.resolve("kernel-plan.tsv");
        String here = MachineKey.current(2).text();
        Files.writeString(cache, here + "\tQ4_0\t256\tFASTEST\t1.00\t2.00\t0\t2026-01-02\n" + "not a plan line\n"
                + here + "\tQ8_0\t256\tINTEGER_BYTES\t1.00\t2.00\t0\t2026-01-02\n");
        KernelPlanner planner = planner(Mode.MEASURE, cache);
        KernelPlan plan = planner.plan(matrices, team);
        assertEquals(3, planner.notes().size(), planner.notes().toString());
        assertTrue(planner.notes().get(0).contains("line 1 skipped") && planner.notes().get(0).contains("FASTEST"), planner.notes().get(0));
        assertTrue(planner.notes().get(1).contains("line 2 skipped: 1 fields, expected 8"), planner.notes().get(1));
        assertTrue(planner.notes().get(2).contains("line 3 skipped: INTEGER_BYTES was chosen but not measured"), planner.notes().get(2));
        assertTrue(plan.choices().stream().allMatch(c -> c.source() == Source.MEASURED));
        String text = Files.readString(cache);
        assertTrue(!text.contains("FASTEST") && !text.contains("not a plan line") && !text.contains("INTEGER_BYTES\t1.000"), text);
    }

    @Test
    void aCacheThatCannotBeWrittenIsANoteNotAFailure(@TempDir Path dir) throws Exception {
        assumeSomethingToPlan();
        Path file = dir.resolve("a-file");
        Files.writeString(file, "x");
        KernelPlanner planner = planner(Mode.MEASURE, file.resolve("kernel-plan.tsv")); // a folder that is a file
        KernelPlan plan = planner.plan(matrices, team);
        assertEquals(plannedGroups().size(), plan.choices().size());
        assertTrue(planner.notes().stream().anyMatch(n -> n.startsWith("kernel plan not cached (" + file.resolve("kernel-plan.tsv"))),
                planner.notes().toString());
    }

    @Test
    void theCacheFileFollowsTheEnvironmentInItsOrder() {
        Map<String, String> all = Map.of("PHIEDGE_CACHE_DIR", "/p", "CACHE_DIRECTORY", "/var/cache/a:/var/cache/b", "XDG_CACHE_HOME", "/x");
        assertEquals(Path.of("/p/kernel-plan.tsv"), KernelPlanCache.fileIn(all, "/home/u"));
        assertEquals(Path.of("/var/cache/a/kernel-plan.tsv"), KernelPlanCache.fileIn(Map.of("CACHE_DIRECTORY", "/var/cache/a:/var/cache/b",
                "XDG_CACHE_HOME", "/x"), "/home/u"));
        assertEquals(Path.of("/x/phiedge/kernel-plan.tsv"), KernelPlanCache.fileIn(Map.of("XDG_CACHE_HOME", "/x"), "/home/u"));
        assertEquals(Path.of("/home/u/.cache/phiedge/kernel-plan.tsv"), KernelPlanCache.fileIn(Map.of(), "/home/u"));
        assertEquals(null, KernelPlanCache.fileIn(Map.of(), "?"));
    }

    @Test
    void theModeComesFromItsName() {
        assertEquals(Mode.RULES, Mode.parse("rules"));
        assertEquals(Mode.REMEASURE, Mode.parse(" ReMeasure "));
        var e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Mode.parse("fast"));
        assertEquals("unknown kernel plan mode 'fast' (use measure, remeasure or rules)", e.getMessage());
    }
}
