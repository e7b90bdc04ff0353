package dev.phiedge.runtime.plan;

import dev.phiedge.runtime.plan.KernelPlan.Choice;
import dev.phiedge.runtime.plan.KernelPlan.Group;
import dev.phiedge.runtime.plan.KernelPlan.Kernel;
import dev.phiedge.runtime.plan.KernelPlan.Source;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.ThreadedMatVec;
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
 * algorithms: by running both kernels on the model's own matrices and keeping the faster. Which kernel
 * wins depends on the CPU (its vector width, how it executes byte and short arithmetic, its memory
 * bandwidth) and on how C2 compiles the kernels there, so a rule measured on one CPU is not the
 * answer on another. A measurement is cached per {@link MachineKey} (CPU model, vector width, JVM,
 * loop unrolling, threads) in a {@link KernelPlanCache}, so it runs once per kind of machine.
 *
 * <p>How a group is measured: both kernels are first run on a few rows until C2 has compiled them
 * (each call's time stops improving), then alternately, one round each, over up to
 * {@link #MEASURE_BYTES} of the group's matrices (so the weights stream from memory on most machines,
 * as in decoding), on the model's thread team, until {@link #budgetNanos} has passed; each kernel's
 * best round counts. A kernel must be more than {@link #MARGIN} faster to replace the tensor's
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

    /** A kernel must be this much faster than the built-in rule's to replace it. */
    static final double MARGIN = 0.03;
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
            // one kernel only, or a float kernel that boxes at this width: nothing to choose
            if (w.activationFormat() == Q8Activations.Format.F32 || w.floatDecodeKernelBoxes()) continue;
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
            if (c != null) {
                choices.add(new Choice(c.group(), c.kernel(), Source.CACHED, rule, c.integerGbps(), c.floatGbps(), c.measuredOn()));
            } else {
                Choice m = measure(e.getKey(), e.getValue(), team, rule);
                choices.add(m);
                measured.add(m);
            }
        }
        if (!measured.isEmpty() && cache != null) cache.write(machine, measured, notes);
        return KernelPlan.of(choices);
    }

    /** Both kernels on the group's matrices; the faster one by more than {@link #MARGIN}, else the rule's. */
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

        warmUp(set.getFirst(), Kernel.INTEGER, x, out, q);
        warmUp(set.getFirst(), Kernel.FLOAT, x, out, q);
        long best0 = Long.MAX_VALUE, best1 = Long.MAX_VALUE;
        long deadline = System.nanoTime() + 2 * budgetNanos;
        for (int round = 0; round < MAX_ROUNDS && (round < MIN_ROUNDS || System.nanoTime() < deadline); round++) {
            boolean integerFirst = round % 2 == 0; // alternate, so neither always follows the other
            long a = time(set, integerFirst ? Kernel.INTEGER : Kernel.FLOAT, team, x, out, q);
            long b = time(set, integerFirst ? Kernel.FLOAT : Kernel.INTEGER, team, x, out, q);
            best0 = Math.min(best0, integerFirst ? a : b);
            best1 = Math.min(best1, integerFirst ? b : a);
        }
        double integerGbps = bytes / (double) best0;
        double floatGbps = bytes / (double) best1;
        return choose(g, rule, integerGbps, floatGbps, Source.MEASURED, LocalDate.now().toString());
    }

    /** The faster kernel where it beats the rule's by more than {@link #MARGIN}; else the rule's. */
    static Choice choose(Group g, Kernel rule, double integerGbps, double floatGbps, Source source, String date) {
        double ruleGbps = rule == Kernel.INTEGER ? integerGbps : floatGbps;
        double otherGbps = rule == Kernel.INTEGER ? floatGbps : integerGbps;
        Kernel other = rule == Kernel.INTEGER ? Kernel.FLOAT : Kernel.INTEGER;
        Kernel k = otherGbps > ruleGbps * (1 + MARGIN) ? other : rule;
        return new Choice(g, k, source, rule, integerGbps, floatGbps, date);
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
        if (k == Kernel.INTEGER) w.matVec(q.quantize(w.activationFormat(), x, 0, w.cols()), out, 0, 0, rows);
        else w.matVec(x, 0, out, 0, 0, rows);
    }

    /** Nanoseconds for one decode product with each matrix of {@code set}, as {@code MatMul} runs them. */
    private static long time(List<WeightTensor> set, Kernel k, ThreadedMatVec team, float[] x, float[] out, Q8Activations q) {
        long t0 = System.nanoTime();
        for (WeightTensor w : set) {
            if (k == Kernel.INTEGER) team.matVec(w, q.quantize(w.activationFormat(), x, 0, w.cols()), out, 0);
            else team.matVec(w, x, 0, out, 0);
        }
        return System.nanoTime() - t0;
    }

    @Override
    public String toString() {
        return "KernelPlanner[" + mode.name().toLowerCase(Locale.ROOT) + (cache == null ? ", no cache" : ", " + cache.file()) + "]";
    }
}
