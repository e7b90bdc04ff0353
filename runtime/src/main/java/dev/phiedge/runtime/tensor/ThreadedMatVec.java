package dev.phiedge.runtime.tensor;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * A fixed team of {@code threads} platform threads for matrix-vector products: the calling thread
 * plus {@code threads - 1} pool threads, each taking one contiguous range of rows. No allocation per
 * call, no ForkJoinPool. Idle pool threads spin briefly (decode issues products back to back), then
 * park until the next call.
 *
 * <p>One caller at a time: the pool is meant to be owned by one decode loop. Not reentrant.
 */
public final class ThreadedMatVec implements AutoCloseable {

    /** Work split into contiguous ranges of {@code [0, n)}. */
    @FunctionalInterface
    public interface RangeTask {
        void run(int start, int end);
    }

    private static final int SPINS = 1 << 15;

    private final int threads;
    private final Thread[] workers;
    private final AtomicInteger pending = new AtomicInteger();
    private volatile int generation;
    private volatile boolean closed;
    private volatile Throwable failure;

    // The current job, written by the caller before the volatile write of generation.
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
        mvTensor = tensor;
        mvX = x;
        mvXOffset = xOffset;
        mvOut = out;
        mvOutOffset = outOffset;
        try {
            forRange(tensor.rows(), matVecTask);
        } finally {
            mvTensor = null;
            mvX = null;
            mvOut = null;
        }
    }

    /**
     * {@code out[outOffset + r]} = row {@code r} . {@code x} for every row, with {@code x} already
     * quantized in the tensor's {@link WeightTensor#activationFormat()}; rows split over the team.
     */
    public void matVec(WeightTensor tensor, Q8Activations x, float[] out, int outOffset) {
        if (x.format() != tensor.activationFormat() || x.length() != tensor.cols()) {
            throw new IllegalArgumentException(tensor + " needs " + tensor.activationFormat() + " activations of length "
                    + tensor.cols() + ", got " + x.format() + " of " + x.length());
        }
        Objects.checkFromIndexSize(outOffset, tensor.rows(), out.length);
        mvTensor = tensor;
        mvQ = x;
        mvOut = out;
        mvOutOffset = outOffset;
        try {
            forRange(tensor.rows(), matVecQ8Task);
        } finally {
            mvTensor = null;
            mvQ = null;
            mvOut = null;
        }
    }

    /** Runs {@code task} over {@code [0, n)} split into {@link #threads()} contiguous ranges; returns when all are done. */
    public void forRange(int n, RangeTask task) {
        if (closed) throw new IllegalStateException("ThreadedMatVec is closed");
        if (threads == 1 || n < threads) {
            task.run(0, n);
            return;
        }
        this.caller = Thread.currentThread();
        this.task = task;
        this.n = n;
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
        while (pending.get() != 0) {
            if (++spins < SPINS) Thread.onSpinWait();
            else LockSupport.park(this);
        }
        this.task = null;
        Throwable t = own != null ? own : failure;
        if (t instanceof RuntimeException re) throw re;
        if (t instanceof Error e) throw e;
        if (t != null) throw new IllegalStateException(t);
    }

    private void runPart(int part) {
        int start = (int) ((long) n * part / threads);
        int end = (int) ((long) n * (part + 1) / threads);
        if (start < end) task.run(start, end);
    }

    private void workLoop(int part) {
        int seen = 0;
        while (true) {
            int g;
            int spins = 0;
            while ((g = generation) == seen) {
                if (closed) return;
                if (++spins < SPINS) Thread.onSpinWait();
                else LockSupport.park(this);
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
