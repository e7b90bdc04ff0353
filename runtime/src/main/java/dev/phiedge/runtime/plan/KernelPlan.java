package dev.phiedge.runtime.plan;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.WeightTensor;

import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Which decode kernel each group of weight matrices uses on this machine: the integer kernel (the
 * activations quantized once per product, ggml's way) or the float kernel (the weights widened to
 * floats). A group is the matrices of one type and row length, which run the same compiled kernel.
 * Groups the plan does not list, and types without an integer kernel, follow the tensor's own rule
 * ({@link WeightTensor#prefersQuantizedActivations()}).
 *
 * <p>A plan is immutable; {@link KernelPlanner} makes one by measuring both kernels on the model's own
 * matrices, or by reading an earlier measurement on the same kind of machine.
 */
public final class KernelPlan {

    /** The two ways to compute a decode product. */
    public enum Kernel {
        /** Activations quantized to the weight type's {@link WeightTensor#activationFormat()}; integer block dots. */
        INTEGER,
        /** Float activations; the weights widened to floats. */
        FLOAT
    }

    /** Where a choice came from. */
    public enum Source {
        /** The tensor's built-in rule, unmeasured. */
        RULE,
        /** Measured in this process. */
        MEASURED,
        /** Measured earlier on this kind of machine and read from the plan cache. */
        CACHED
    }

    /** A group of matrices: one type, one row length. */
    public record Group(GgmlType type, int cols) implements Comparable<Group> {
        public static Group of(WeightTensor w) {
            return new Group(w.type(), w.cols());
        }

        @Override
        public int compareTo(Group o) {
            return Comparator.comparing(Group::type).thenComparingInt(Group::cols).compare(this, o);
        }

        @Override
        public String toString() {
            return type + " x " + cols;
        }
    }

    /**
     * The kernel of one group, and why: the weight bytes a second each kernel read when measured (0
     * where not measured), and the kernel the tensor's rule would take.
     */
    public record Choice(Group group, Kernel kernel, Source source, Kernel rule, double integerGbps, double floatGbps,
                         String measuredOn) {
        /** One line for people: the choice and the measurement behind it. */
        public String describe() {
            String name = kernel.name().toLowerCase(java.util.Locale.ROOT);
            if (source == Source.RULE) return group + ": " + name + " (built-in rule, not measured)";
            String figures = String.format(java.util.Locale.ROOT, "integer %.1f GB/s, float %.1f GB/s", integerGbps, floatGbps);
            String why = kernel == rule && faster(rule) < KernelPlanner.MARGIN ? "within " + pct(KernelPlanner.MARGIN)
                    + " of each other: the built-in rule's" : "faster";
            return group + ": " + name + " (" + figures + ": " + why + "; "
                    + (source == Source.CACHED ? "cached, measured " + measuredOn : "measured now") + ")";
        }

        /** How much faster {@code k} measured than the other kernel (negative: slower). */
        double faster(Kernel k) {
            double a = k == Kernel.INTEGER ? integerGbps : floatGbps;
            double b = k == Kernel.INTEGER ? floatGbps : integerGbps;
            return b > 0 ? a / b - 1 : 0;
        }

        private static String pct(double f) {
            return Math.round(f * 100) + "%";
        }
    }

    private static final KernelPlan RULES = new KernelPlan(Map.of());

    private final Map<Group, Choice> choices;
    /** The choices again, for the lookup of every decode product: a scan of a few entries, no key object to allocate. */
    private final Choice[] table;

    KernelPlan(Map<Group, Choice> choices) {
        this.choices = Map.copyOf(choices);
        this.table = choices.values().toArray(Choice[]::new);
    }

    /** Every group on the tensors' built-in rules. */
    public static KernelPlan rules() {
        return RULES;
    }

    /** A plan of the given choices (other groups on their rules). */
    public static KernelPlan of(List<Choice> choices) {
        return new KernelPlan(choices.stream().collect(Collectors.toMap(Choice::group, Function.identity())));
    }

    /** The kernel a decode product with {@code w} uses. */
    public Kernel kernel(WeightTensor w) {
        if (w.activationFormat() == Q8Activations.Format.F32) return Kernel.FLOAT;
        for (Choice c : table) {
            if (c.group().type() == w.type() && c.group().cols() == w.cols()) return c.kernel();
        }
        return ruleOf(w);
    }

    /** Whether a decode product with {@code w} quantizes its activations ({@link Kernel#INTEGER}). */
    public boolean quantizedActivations(WeightTensor w) {
        return kernel(w) == Kernel.INTEGER;
    }

    /** The listed choices, by type and row length. */
    public List<Choice> choices() {
        return choices.values().stream().sorted(Comparator.comparing(Choice::group)).toList();
    }

    static Kernel ruleOf(WeightTensor w) {
        return w.prefersQuantizedActivations() ? Kernel.INTEGER : Kernel.FLOAT;
    }

    @Override
    public String toString() {
        return choices.isEmpty() ? "KernelPlan[rules]" : "KernelPlan" + choices();
    }
}
