package dev.phiedge.runtime.plan;

import dev.phiedge.runtime.matmul.ThreadedMatVec;
import dev.phiedge.runtime.matmul.KernelPlan;
import dev.phiedge.runtime.matmul.KernelPlan.Choice;
import dev.phiedge.runtime.matmul.KernelPlan.Group;
import dev.phiedge.runtime.matmul.KernelPlan.Kernel;
import dev.phiedge.runtime.matmul.KernelPlan.Source;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.WeightTensor;

import java.nio.file.Path;
import java.time.LocalDate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Chooses each group's decode kernel on the machine in front of it, as FFTW's planner chooses its
 * algorithms: by running each candidate kernel ({@link #candidates}: integer, float, and integer on
 * byte quants where the type has it) on the model's own matrices and keeping the fastest. Which kernel
 * wins depends on the CPU (its vector width, how it executes byte and short arithmetic, its memory
 * bandwidth) and on how C2 compiles the kernels there, so a rule measured on one CPU is not the
 * answer on another. A measurement is cached per {@link MachineKey} (CPU model, vector width, JVM,
 * loop unrolling, threads) in a {@link KernelPlanCache}, so it runs once per kind of machine.
 *
 * <p>How a group is measured: the kernels are first run on a few rows until C2 has compiled them
 * (each call's time stops improving), then in turn, one round each, over up to
 * {@link #MEASURE_BYTES} of the group's matrices (so the weights stream from memory on most machines,
 * as in decoding), on the model's thread team, until {@link #budgetNanos} has passed; each kernel's
 * best round counts. A kernel must be more than {@link KernelPlan#MARGIN} faster to replace the tensor's
 * built-in rule, so noise does not flip a tie.
 *
 * <p>Modes ({@code -Dphiedge.kernels}): {@code measure} (the default: cached, else measured),
 * {@code remeasure} (measure and replace the cached entries), {@code rules} (no measurement, the
 * built-in rules: reproducible results across machines, and what the test suites use).
 */
public final class KernelPlanner {

    /** How a plan is made. */
    public enum Mode {
        RULES, MEASURE, REMEASURE;

        /** {@code rules}, {@code measure} or {@code remeasure}. */
        public static Mode parse(String s) {
            for (Mode m : values()) {
                if (m.name().equalsIgnoreCase(s.trim())) return m;
            }
            throw new IllegalArgumentException("unknown kernel plan mode '" + s + "' (use measure, remeasure or rules)");
        }
    }

    /** Bytes of a group's matrices a measured round reads at most (at least one whole matrix). */
    static final long MEASURE_BYTES = 64L << 20;
    private static final int MIN_ROUNDS = 3;
    private static final int MAX_ROUNDS = 40;
    /** Warm-up: calls on a few rows until the best call time has not improved for this many calls. */
    private static final int WARM_STEADY_CALLS = 30;
    private static final long WARM_MIN_ROWS = 40_000;
    private static final long WARM_LIMIT_NANOS = 4_000_000_000L;

    private final Mode mode;
    private final KernelPlanCache cache;
    private final long budgetNanos;
    private final List<String> notes = new ArrayList<>();

    /**
     * @param cache        where measurements are kept; null: measure every time
     * @param budgetMillis the measuring time per group and kernel after warm-up
     */
    public KernelPlanner(Mode mode, KernelPlanCache cache, long budgetMillis) {
        this.mode = java.util.Objects.requireNonNull(mode, "mode");
        this.cache = cache;
        this.budgetNanos = budgetMillis * 1_000_000L;
    }

    /** A planner that measures nothing (for loading a model only to check it). */
    public static KernelPlanner rulesOnly() {
        return new KernelPlanner(Mode.RULES, null, 0);
    }

    /**
     * The planner the system properties ask for: {@code phiedge.kernels} (mode, default measure),
     * {@code phiedge.kernels.budgetMs} (default 150) and the cache file of
     * {@link KernelPlanCache#defaultFile()}.
     */
    public static KernelPlanner fromSystemProperties() {
        Mode mode = Mode.parse(System.getProperty("phiedge.kernels", "measure"));
        long budget = Long.getLong("phiedge.kernels.budgetMs", 150);
        Path file = KernelPlanCache.defaultFile();
        return new KernelPlanner(mode, file == null ? null : new KernelPlanCache(file), budget);
    }

    /** This planner with another mode (same cache and budget). */
    public KernelPlanner withMode(Mode other) {
        return new KernelPlanner(other, cache, budgetNanos / 1_000_000L);
    }

    /** The cache this planner reads and writes; null when it has none. */
    public KernelPlanCache cache() {
        return cache;
    }

    public Mode mode() {
        return mode;
    }

    /** What happened that a user may want to know (a cache that could not be written, for instance). */
    public List<String> notes() {
        return List.copyOf(notes);
    }

    /**
     * The plan for decoding with {@code matrices} on {@code team}: for each group of matrices that has
     * an integer kernel, the cached or measured choice (nothing listed in {@link Mode#RULES}).
     */
    public KernelPlan plan(Collection<WeightTensor> matrices, ThreadedMatVec team) {
        if (mode == Mode.RULES) return KernelPlan.rules();
        Map<Group, List<WeightTensor>> groups = new TreeMap<>();
        for (WeightTensor w : matrices) {
            if (candidates(w).size() < 2) continue; // one kernel only: nothing to choose
            groups.computeIfAbsent(Group.of(w), g -> new ArrayList<>()).add(w);
        }
        if (groups.isEmpty()) return KernelPlan.rules();
        MachineKey machine = MachineKey.current(team.threads());
        Map<Group, Choice> cached = mode == Mode.MEASURE && cache != null ? cache.read(machine, notes) : Map.of();
        List<Choice> choices = new ArrayList<>();
        List<Choice> measured = new ArrayList<>();
        for (Map.Entry<Group, List<WeightTensor>> e : groups.entrySet()) {
            Kernel rule = KernelPlan.ruleOf(e.getValue().getFirst());
            Choice c = cached.get(e.getKey());
            if (c != null && candidates(e.getValue().getFirst()).contains(c.kernel())) {
                choices.add(new Choice(c.group(), c.kernel(), Source.CACHED, rule, c.integerGbps(), c.floatGbps(), c.integerBytesGbps(),
                        c.measuredOn()));
            } else {
                Choice m = measure(e.getKey(), e.getValue(), team, rule);
                choices.add(m);
                measured.add(m);
            }
        }
        if (!measured.isEmpty() && cache != null) cache.write(machine, measured, notes);
        return KernelPlan.of(choices);
    }

    /**
     * The kernels a decode product with {@code w} can use here: the integer kernel, the float kernel
     * unless it boxes at this width, the byte-activation kernel where the type has one. Empty for
     * types with the float kernel only.
     */
    static java.util.EnumSet<Kernel> candidates(WeightTensor w) {
        java.util.EnumSet<Kernel> k = java.util.EnumSet.noneOf(Kernel.class);
        if (w.activationFormat() == Q8Activations.Format.F32) return k;
        k.add(Kernel.INTEGER);
        if (!w.floatDecodeKernelBoxes()) k.add(Kernel.FLOAT);
        if (w.hasByteActivationKernel()) k.add(Kernel.INTEGER_BYTES);
        return k;
    }

    /** Every candidate kernel on the group's matrices; the fastest by more than {@link KernelPlan#MARGIN}, else the rule's. */
    Choice measure(Group g, List<WeightTensor> group, ThreadedMatVec team, Kernel rule) {
        List<WeightTensor> set = new ArrayList<>();
        long bytes = 0;
        for (WeightTensor w : group) {
            if (!set.isEmpty() && bytes + w.data().byteSize() > MEASURE_BYTES) break;
            set.add(w);
            bytes += w.data().byteSize();
        }
        int rows = set.stream().mapToInt(WeightTensor::rows).max().orElseThrow();
        float[] x = new float[g.cols()];
        Random rnd = new Random(1);
        for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
        float[] out = new float[rows];
        Q8Activations q = new Q8Activations();

        List<Kernel> kernels = List.copyOf(candidates(set.getFirst()));
        for (Kernel k : kernels) warmUp(set.getFirst(), k, x, out, q);
        long[] best = new long[Kernel.values().length];
        java.util.Arrays.fill(best, Long.MAX_VALUE);
        long deadline = System.nanoTime() + kernels.size() * budgetNanos;
        for (int round = 0; round < MAX_ROUNDS && (round < MIN_ROUNDS || System.nanoTime() < deadline); round++) {
            for (int i = 0; i < kernels.size(); i++) {
                Kernel k = kernels.get((i + round) % kernels.size()); // rotate, so no kernel always follows another
                best[k.ordinal()] = Math.min(best[k.ordinal()], time(set, k, team, x, out, q));
            }
        }
        double[] gbps = new double[best.length];
        for (Kernel k : kernels) gbps[k.ordinal()] = bytes / (double) best[k.ordinal()];
        return choose(g, rule, gbps[Kernel.INTEGER.ordinal()], gbps[Kernel.FLOAT.ordinal()], gbps[Kernel.INTEGER_BYTES.ordinal()],
                Source.MEASURED, LocalDate.now().toString());
    }

    /**
     * The fastest kernel where it beats the rule's by more than {@link KernelPlan#MARGIN}; else the rule's.
     * A figure of 0 means not measured (not a candidate).
     */
    static Choice choose(Group g, Kernel rule, double integerGbps, double floatGbps, double integerBytesGbps, Source source, String date) {
        Choice figures = new Choice(g, rule, source, rule, integerGbps, floatGbps, integerBytesGbps, date);
        Kernel fastest = rule;
        for (Kernel k : Kernel.values()) {
            if (figures.gbps(k) > figures.gbps(fastest)) fastest = k;
        }
        Kernel k = figures.gbps(fastest) > figures.gbps(rule) * (1 + KernelPlan.MARGIN) ? fastest : rule;
        return new Choice(g, k, source, rule, integerGbps, floatGbps, integerBytesGbps, date);
    }

    /**
     * Runs one kernel on a few rows of {@code w} until C2 has compiled it: at least
     * {@link #WARM_MIN_ROWS} row dots (C2 compiles a method after some ten thousand calls), then until
     * the call time has stopped improving.
     */
    private static void warmUp(WeightTensor w, Kernel k, float[] x, float[] out, Q8Activations q) {
        int rows = Math.min(w.rows(), 64);
        long best = Long.MAX_VALUE;
        int sinceBest = 0;
        long rowsDone = 0;
        long limit = System.nanoTime() + WARM_LIMIT_NANOS;
        while ((rowsDone < WARM_MIN_ROWS || sinceBest < WARM_STEADY_CALLS) && System.nanoTime() < limit) {
            rowsDone += rows;
            long t0 = System.nanoTime();
            product(w, k, x, out, q, rows);
            long t = System.nanoTime() - t0;
            // "improved" needs 2%: a compiled kernel's calls then stop counting as improvements
            if (t < best * 0.98) {
                best = t;
                sinceBest = 0;
            } else {
                sinceBest++;
            }
        }
    }

    private static void product(WeightTensor w, Kernel k, float[] x, float[] out, Q8Activations q, int rows) {
        switch (k) {
            case INTEGER -> w.matVec(q.quantize(w.activationFormat(), x, 0, w.cols()), out, 0, 0, rows);
            case INTEGER_BYTES -> w.matVecBytes(q.quantize(w.activationFormat(), x, 0, w.cols()), out, 0, 0, rows);
            case FLOAT -> w.matVec(x, 0, out, 0, 0, rows);
        }
    }

    /** Nanoseconds for one decode product with each matrix of {@code set}, as {@code MatMul} runs them. */
    private static long time(List<WeightTensor> set, Kernel k, ThreadedMatVec team, float[] x, float[] out, Q8Activations q) {
        long t0 = System.nanoTime();
        for (WeightTensor w : set) {
            switch (k) {
                case INTEGER -> team.matVec(w, q.quantize(w.activationFormat(), x, 0, w.cols()), out, 0);
                case INTEGER_BYTES -> team.matVecBytes(w, q.quantize(w.activationFormat(), x, 0, w.cols()), out, 0);
                case FLOAT -> team.matVec(w, x, 0, out, 0);
            }
        }
        return System.nanoTime() - t0;
    }

    @Override
    public String toString() {
        return "KernelPlanner[" + mode.name().toLowerCase(Locale.ROOT) + (cache == null ? ", no cache" : ", " + cache.file()) + "]";
    }
}
