package dev.phiedge.runtime.bench;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.matmul.MatMul;
import dev.phiedge.runtime.synth.SyntheticModel;
import dev.phiedge.runtime.tensor.WeightTensor;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The kernels behind every forward pass, per weight type, on Phi-3-mini-sized rows (3072 weights):
 * <ul>
 *   <li>{@code dot}: one row against float activations (the row stays in L1: compute speed);</li>
 *   <li>{@code matVec}: a {@code rows x 3072} matrix times one float vector, on the calling thread
 *       (with the default 3072 rows the weights are 3.5 to 36 MB, beyond L2);</li>
 *   <li>{@code decode}: the same product the way decoding runs it ({@link MatMul} with one position:
 *       activations quantized where the type prefers it, then the integer kernel), on {@code threads}
 *       threads;</li>
 *   <li>{@code matMulBatch}: the same matrix times {@code batch} vectors through {@link MatMul}
 *       (prompt processing), on {@code threads} threads.</li>
 * </ul>
 * Weights are random, as {@code phi3 synth} writes them, copied off-heap: the kernels compile
 * differently for heap-array segments, and a model's weights are never on the heap. Run (see
 * runtime/pom.xml, profile jmh):
 * <pre>
 *   ./mvnw -pl runtime -Pjmh package -DskipTests
 *   java -Xmx1g --add-modules jdk.incubator.vector -jar runtime/target/benchmarks.jar KernelBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx1g",
        "-XX:LoopUnrollLimit=400"})
public class KernelBenchmark {
    @Param({"F32", "F16", "Q8_0", "Q4_0", "Q4_K", "Q5_K", "Q6_K"})
    public String type;

    @Param({"3072"})
    public int rows;

    @Param({"32"})
    public int batch;

    @Param({"1"})
    public int threads;

    private static final int COLS = 3072;

    private WeightTensor w;
    private float[] x;
    private float[] xs;
    private float[] out;
    private MatMul matMul;
    private Arena arena;

    @Setup(Level.Trial)
    public void setup() {
        GgmlType t = GgmlType.valueOf(type);
        MemorySegment onHeap = SyntheticModel.randomMatrix(t, rows, COLS, 42);
        arena = Arena.ofShared();
        w = WeightTensor.of(t, arena.allocate(onHeap.byteSize(), 64).copyFrom(onHeap), rows, COLS);
        SplittableRandom r = new SplittableRandom(7);
        x = new float[COLS];
        for (int i = 0; i < COLS; i++) x[i] = (float) r.nextGaussian();
        xs = new float[COLS * batch];
        for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextGaussian();
        out = new float[rows * batch];
        matMul = new MatMul(threads);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        matMul.close();
        arena.close();
    }

    @Benchmark
    public float dot() { return w.dot(0, x, 0); }

    @Benchmark
    public float[] matVec() {
        w.matVec(x, 0, out, 0);
        return out;
    }

    @Benchmark
    public float[] decode() {
        matMul.apply(w, x, COLS, out, rows, 1);
        return out;
    }

    @Benchmark
    public float[] matMulBatch() {
        matMul.apply(w, xs, COLS, out, rows, batch);
        return out;
    }
}
