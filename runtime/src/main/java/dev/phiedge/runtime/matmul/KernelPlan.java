package dev.phiedge.runtime.matmul;

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
 * <p>A plan is immutable; the planner (package {@code plan}) makes one by measuring the kernels on the
 * model's own matrices, or by reading an earlier measurement on the same kind of machine.
 */
public final class KernelPlan {

    /** A kernel must be this much faster than the built-in rule's to replace it: noise does not flip a tie. */
    public static final double MARGIN = 0.03;

    /** The ways to compute a decode product. */
    public enum Kernel {
        /** Activations quantized to the weight type's {@link WeightTensor#activationFormat()}; integer block dots. */
        INTEGER,
        /** Float activations; the weights widened to floats. */
        FLOAT,
        /** As {@link #INTEGER}, the quants read as bytes ({@link WeightTensor#hasByteActivationKernel()}); the same result. */
        INTEGER_BYTES;

        /** The name people read: integer, float, integer-bytes. */
        public String label() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
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
     * where not measured: the byte kernel exists for some types only), and the kernel the tensor's
     * rule would take.
     */
    public record Choice(Group group, Kernel kernel, Source source, Kernel rule, double integerGbps, double floatGbps,
                         double integerBytesGbps, String measuredOn) {
        /** What {@code k} measured, GB/s (0: not measured). */
        public double gbps(Kernel k) {
            return switch (k) {
                case INTEGER -> integerGbps;
                case FLOAT -> floatGbps;
                case INTEGER_BYTES -> integerBytesGbps;
            };
        }

        /** One line for people: the choice and the measurement behind it. */
        public String describe() {
            if (source == Source.RULE) return group + ": " + kernel.label() + " (built-in rule, not measured)";
            StringBuilder figures = new StringBuilder();
            for (Kernel k : Kernel.values()) {
                if (gbps(k) <= 0) continue;
                if (!figures.isEmpty()) figures.append(", ");
                figures.append(String.format(java.util.Locale.ROOT, "%s %.1f GB/s", k.label(), gbps(k)));
            }
            String why = kernel == rule && bestOther(rule) <= gbps(rule) * (1 + MARGIN) && bestOther(rule) > gbps(rule)
                    ? "within " + Math.round(MARGIN * 100) + "%: the built-in rule's" : "fastest";
            return group + ": " + kernel.label() + " (" + figures + ": " + why + "; "
                    + (source == Source.CACHED ? "cached, measured " + measuredOn : "measured now") + ")";
        }

        private double bestOther(Kernel k) {
            double best = 0;
            for (Kernel o : Kernel.values()) if (o != k) best = Math.max(best, gbps(o));
            return best;
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

    /** Whether a decode product with {@code w} quantizes its activations (an integer kernel). */
    public boolean quantizedActivations(WeightTensor w) {
        return kernel(w) != Kernel.FLOAT;
    }

    /** The listed choices, by type and row length. */
    public List<Choice> choices() {
        return choices.values().stream().sorted(Comparator.comparing(Choice::group)).toList();
    }

    /** The built-in rule's kernel for {@code w} ({@link WeightTensor#prefersQuantizedActivations()}). */
    public static Kernel ruleOf(WeightTensor w) {
        return w.prefersQuantizedActivations() ? Kernel.INTEGER : Kernel.FLOAT;
    }

    @Override
    public String toString() {
        return choices.isEmpty() ? "KernelPlan[rules]" : "KernelPlan" + choices();
    }
}
