package dev.phiedge.runtime.matmul;

import dev.phiedge.runtime.tensor.Q8Activations;
import dev.phiedge.runtime.tensor.WeightTensor;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A fixed team of {@code threads} platform threads for matrix-vector products: the calling thread
 * plus {@code threads - 1} pool threads. The range is cut into {@link #CHUNKS_PER_THREAD} contiguous
 * chunks per thread, claimed in order from an atomic counter: each thread still streams contiguous
 * rows, and a thread slowed by another process (on a shared VM) takes fewer chunks instead of
 * holding everyone up ({@code -Dphiedge.staticSplit=true}: one fixed range per thread, for comparison).
 * No allocation per call, no ForkJoinPool. Idle pool threads spin briefly (decode issues products back
 * to back), then park until the next call.
 *
 * <p>Thread safety: any number of threads may share a team (the sessions of one model do). Each call
 * keeps its arguments in fields of the team, so calls from different threads take turns: a call waits
 * on a lock until the running one has finished, and each call's result is what it would be alone.
 * With one thread ({@code threads == 1}, or a range shorter than the team) a call runs on its caller
 * and touches no field of the team, so callers on different threads run in parallel. Not reentrant:
 * a task that starts another product on its own team gets an {@link IllegalStateException} (from a
 * pool thread it would otherwise wait forever for the lock its caller holds).
 */
public final class ThreadedMatVec implements AutoCloseable {

    /** Work split into contiguous ranges of {@code [0, n)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end);
    }

    /**
     * Waits spin {@code phiedge.spins} times, then yield {@code phiedge.yields} times (a descheduled team
     * member may need this core; off by default, as no reproducible gain was measured), then park.
     */
    private static final int SPINS = Integer.getInteger("phiedge.spins", 1 << 15);
    private static final int YIELDS = Integer.getInteger("phiedge.yields", 0);
    /**
     * Chunks per thread ({@code -Dphiedge.chunks}): 2 leaves a little room for balance while each
     * thread streams long contiguous ranges; every new range costs a thread's stream a restart, so
     * more chunks are slower (figures: docs/performance.md).
     */
    static final int CHUNKS_PER_THREAD = Math.max(1, Integer.getInteger("phiedge.chunks", 2));
    private static final boolean STATIC_SPLIT = Boolean.getBoolean("phiedge.staticSplit");

    private final int threads;
    private final Thread[] workers;
    /** Held by the caller of the product in flight: one product at a time on the team. */
    private final ReentrantLock lock = new ReentrantLock();
    private final AtomicInteger pending = new AtomicInteger();
    private final AtomicInteger nextChunk = new AtomicInteger();
    private int chunkSize;
    private int chunks;
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    // The current job, written by the caller (holding the lock) before the volatile write of generation.
    private Thread caller;
    private RangeTask task;
    private int n;

    // matVec's arguments, read by the preallocated matVecTask.
    private WeightTensor mvTensor;
    private float[] mvX;
    private int mvXOffset;
    private float[] mvOut;
    private int mvOutOffset;
    private final RangeTask matVecTask = (start, end) -> mvTensor.matVec(mvX, mvXOffset, mvOut, mvOutOffset, start, end);
    private Q8Activations mvQ;
    private final RangeTask matVecQ8Task = (start, end) -> mvTensor.matVec(mvQ, mvOut, mvOutOffset, start, end);
    private final RangeTask matVecBytesTask = (start, end) -> mvTensor.matVecBytes(mvQ, mvOut, mvOutOffset, start, end);

    /** A team of {@code threads} (1 or more; 1 means everything runs on the calling thread). */
    public ThreadedMatVec(int threads) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1, got " + threads);
        this.threads = threads;
        this.workers = new Thread[threads - 1];
        for (int i = 0; i < workers.length; i++) {
            int part = i + 1;
            workers[i] = Thread.ofPlatform().daemon().name("phi3-matvec-" + part).unstarted(() -> workLoop(part));
            workers[i].start();
        }
    }

    public int threads() {
        return threads;
    }

    /** {@code out[outOffset + r] = tensor.dot(r, x, xOffset)} for every row, rows split over the team. */
    public void matVec(WeightTensor tensor, float[] x, int xOffset, float[] out, int outOffset) {
        Objects.checkFromIndexSize(xOffset, tensor.cols(), x.length);
        Objects.checkFromIndexSize(outOffset, tensor.rows(), out.length);
        checkOpen();
        if (runsOnCaller(tensor.rows())) {
            tensor.matVec(x, xOffset, out, outOffset, 0, tensor.rows());
            return;
        }
        lock();
        try {
            mvTensor = tensor;
            mvX = x;
            mvXOffset = xOffset;
            mvOut = out;
            mvOutOffset = outOffset;
            forRange(tensor.rows(), matVecTask);
        } finally {
            mvTensor = null;
            mvX = null;
            mvOut = null;
            lock.unlock();
        }
    }

    /**
     * {@code out[outOffset + r]} = row {@code r} . {@code x} for every row, with {@code x} already
     * quantized in the tensor's {@link WeightTensor#activationFormat()}; rows split over the team.
     */
    public void matVec(WeightTensor tensor, Q8Activations x, float[] out, int outOffset) {
        matVecQuantized(tensor, x, out, outOffset, false);
    }

    /**
     * {@link #matVec(WeightTensor, Q8Activations, float[], int)} with the tensor's byte-activation
     * kernel ({@link WeightTensor#hasByteActivationKernel()}); the same result.
     */
    public void matVecBytes(WeightTensor tensor, Q8Activations x, float[] out, int outOffset) {
        if (!tensor.hasByteActivationKernel()) throw new UnsupportedOperationException(tensor + " has no byte-activation kernel");
        matVecQuantized(tensor, x, out, outOffset, true);
    }

    private void matVecQuantized(WeightTensor tensor, Q8Activations x, float[] out, int outOffset, boolean bytes) {
        if (x.format() != tensor.activationFormat() || x.length() != tensor.cols()) {
            throw new IllegalArgumentException(tensor + " needs " + tensor.activationFormat() + " activations of length "
                    + tensor.cols() + ", got " + x.format() + " of " + x.length());
        }
        Objects.checkFromIndexSize(outOffset, tensor.rows(), out.length);
        checkOpen();
        if (runsOnCaller(tensor.rows())) {
            if (bytes) tensor.matVecBytes(x, out, outOffset, 0, tensor.rows());
            else tensor.matVec(x, out, outOffset, 0, tensor.rows());
            return;
        }
        lock();
        try {
            mvTensor = tensor;
            mvQ = x;
            mvOut = out;
            mvOutOffset = outOffset;
            forRange(tensor.rows(), bytes ? matVecBytesTask : matVecQ8Task);
        } finally {
            mvTensor = null;
            mvQ = null;
            mvOut = null;
            lock.unlock();
        }
    }

    /** Runs {@code task} over {@code [0, n)} in contiguous chunks claimed by the team; returns when all are done. */
    public void forRange(int n, RangeTask task) {
        checkOpen();
        if (runsOnCaller(n)) {
            task.run(0, n);
            return;
        }
        lock();
        try {
            runOnTeam(n, task);
        } finally {
            lock.unlock();
        }
    }

    /** Whether a call over {@code n} indices runs wholly on its caller (and so needs no lock). */
    private boolean runsOnCaller(int n) {
        return threads == 1 || n < threads;
    }

    private void checkOpen() {
        if (closed) throw new IllegalStateException("ThreadedMatVec is closed");
    }

    /**
     * Takes the team, refusing a task that starts a product on its own team: on the caller's thread it
     * would overwrite the job in flight, on a pool thread it would wait for its own caller forever.
     */
    private void lock() {
        Thread current = Thread.currentThread();
        boolean nested = task != null && lock.isHeldByCurrentThread();
        for (Thread w : workers) nested |= w == current;
        if (nested) throw new IllegalStateException("ThreadedMatVec is not reentrant: a task started another product on its own team");
        lock.lock();
    }

    /** The job on the whole team; the caller holds the lock. */
    private void runOnTeam(int n, RangeTask task) {
        this.caller = Thread.currentThread();
        this.task = task;
        this.n = n;
        this.chunkSize = Math.max(1, (n + threads * CHUNKS_PER_THREAD - 1) / (threads * CHUNKS_PER_THREAD));
        this.chunks = (n + chunkSize - 1) / chunkSize;
        nextChunk.set(0);
        this.failure = null;
        pending.set(workers.length);
        generation = generation + 1; // publishes the job
        for (Thread w : workers) LockSupport.unpark(w);
        Throwable own = null;
        try {
            runPart(0);
        } catch (Throwable t) {
            own = t;
        }
        int spins = 0;
        while (pending.get() != 0) idle(++spins);
        this.task = null;
        Throwable t = own != null ? own : failure;
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error e) throw e;
        if (t != null) throw new IllegalStateException(t);
    }

    private void idle(int spins) {
        if (spins < SPINS) Thread.onSpinWait();
        else if (spins < SPINS + YIELDS) Thread.yield();
        else LockSupport.park(this);
    }

    private void runPart(int part) {
        if (STATIC_SPLIT) {
            int start = (int) ((long) n * part / threads);
            int end = (int) ((long) n * (part + 1) / threads);
            if (start < end) task.run(start, end);
            return;
        }
        int c;
        while ((c = nextChunk.getAndIncrement()) < chunks) {
            int start = c * chunkSize;
            task.run(start, Math.min(n, start + chunkSize));
        }
    }

    private void workLoop(int part) {
        int seen = 0;
        while (true) {
            int g;
            int spins = 0;
            while ((g = generation) == seen) {
                if (closed) return;
                idle(++spins);
            }
            seen = g;
            try {
                runPart(part);
            } catch (Throwable t) {
                failure = t;
            }
            if (pending.decrementAndGet() == 0) LockSupport.unpark(caller);
        }
    }

    /** Stops the pool threads. */
    @Override
    public void close() {
        closed = true;
        for (Thread w : workers) LockSupport.unpark(w);
    }
}
