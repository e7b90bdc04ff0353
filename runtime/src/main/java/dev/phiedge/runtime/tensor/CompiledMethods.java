package dev.phiedge.runtime.tensor;

import java.lang.management.ManagementFactory;
import java.util.List;

/**
 * Which methods C2 has compiled, from the JVM's own code list (what {@code jcmd PID Compiler.codelist}
 * prints, read in-process through the DiagnosticCommand MBean): the self-test waits for its kernels to be
 * C2 code before it compares and times them, since C2's code is what differs between CPUs.
 */
public final class CompiledMethods {
    private CompiledMethods() {}

    /** C2 state of a set of methods. */
    public enum State {
        /** every method has C2 code in use */
        YES,
        /** some have */
        PARTLY,
        /** none has (interpreter and C1 only so far) */
        NO,
        /** the code list cannot be read on this JVM */
        UNKNOWN;

        @Override
        public String toString() {
            return this == UNKNOWN ? "?" : name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    /** The code list, or null where this JVM does not offer it. */
    static String codeList() {
        try {
            return (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand"), "compilerCodelist",
                    new Object[] {new String[0]}, new String[] {String[].class.getName()});
        } catch (Exception | LinkageError e) {
            return null;
        }
    }

    /**
     * Whether each of {@code methods} ("package.Class.method", any signature) has C2 (tier 4) code in use
     * (state 0), with or without the others' callers inlining them too.
     */
    public static State c2(List<String> methods) {
        int found = count(methods);
        return found < 0 || methods.isEmpty() ? State.UNKNOWN : found == methods.size() ? State.YES : found > 0 ? State.PARTLY : State.NO;
    }

    /** How many of {@code methods} have C2 code in use; -1 where the code list cannot be read. */
    public static int count(List<String> methods) {
        String list = codeList();
        if (list == null) return -1;
        int found = 0;
        for (String method : methods) {
            for (String line : list.split("\n")) {
                // "ID LEVEL STATE package.Class.method(SIGNATURE)RETURN [ranges]"
                String[] f = line.strip().split("\\s+", 5);
                if (f.length >= 4 && f[1].equals("4") && f[2].equals("0") && f[3].startsWith(method + "(")) {
                    found++;
                    break;
                }
            }
        }
        return found;
    }

    /**
     * Waits for C2: {@link #poll} answers whether to stop repeating the checks. They stop when every method
     * has C2 code, when the count has not grown for a quarter of the time allowed (half, while it is 0: a kernel
     * that C2 inlines into its callers, or never compiles, has no code of its own), or when the time is up; where the code
     * list cannot be read, after a second.
     */
    public static final class Wait {
        private final List<String> methods;
        private final long start = System.nanoTime();
        private final long deadline;
        private final long stall;
        private long nextProbe;
        private long lastChange = start;
        private int found = -2;

        public Wait(List<String> methods, double maxSeconds) {
            this.methods = methods;
            this.deadline = start + (long) (maxSeconds * 1e9);
            this.stall = Math.max(1_000_000_000L, (long) (maxSeconds * 1e9 / 4));
            this.nextProbe = start + 200_000_000L;
        }

        /** True when the checks may stop: see the class comment. */
        public boolean poll() {
            long now = System.nanoTime();
            if (now >= deadline) return true;
            if (now < nextProbe) return false;
            nextProbe = now + 200_000_000L;
            int n = count(methods);
            if (n < 0) return now - start > 1_000_000_000L;
            if (n != found) {
                found = n;
                lastChange = now;
            }
            // nothing compiled yet: C2 may still be busy with the first method, so wait twice as long
            return n == methods.size() || now - lastChange > (n > 0 ? stall : 2 * stall);
        }

        /** The state now, as "yes 1.2 s" or "partly 5.0 s (1/2)": whether, how many, and how long the checks ran. */
        public String describe() {
            int n = count(methods);
            State state = n < 0 ? State.UNKNOWN : n == methods.size() ? State.YES : n > 0 ? State.PARTLY : State.NO;
            String s = String.format(java.util.Locale.ROOT, "%s %.1f s", state, (System.nanoTime() - start) / 1e9);
            return state == State.PARTLY ? s + " (" + n + "/" + methods.size() + ")" : s;
        }
    }
}
