package dev.phiedge.runtime.testutil;

import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.TestSource;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.engine.support.descriptor.MethodSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * Prints, when a test run ends, every test that did not run and why: those whose assumption failed (a
 * missing tool, ../shared absent, a machine with GPIO) and those disabled. Surefire counts them as
 * "Skipped" without saying why; the reasons are in the tests' Assumptions messages. Registered for every
 * module through META-INF/services/org.junit.platform.launcher.TestExecutionListener (the agent and demo
 * modules get it with the runtime's test jar).
 */
public final class SkippedTestsReport implements TestExecutionListener {

    private final List<String> skipped = new ArrayList<>();

    @Override
    public synchronized void executionSkipped(TestIdentifier test, String reason) {
        add(test, reason);
    }

    @Override
    public synchronized void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (result.getStatus() == TestExecutionResult.Status.ABORTED) {
            add(test, result.getThrowable().map(Throwable::getMessage).orElse("aborted"));
        }
    }

    private void add(TestIdentifier test, String reason) {
        String why = reason == null ? "no reason given" : reason.replaceFirst("^Assumption failed: ", "")
                .replaceFirst("(?i)^skipped: ", "");
        skipped.add(name(test) + ": " + why);
    }

    @Override
    public synchronized void testPlanExecutionFinished(TestPlan plan) {
        if (skipped.isEmpty()) {
            return;
        }
        PrintStream out = System.out;
        out.println("Skipped " + skipped.size() + " test(s), with the reason given:");
        for (String line : skipped) {
            out.println("  " + line);
        }
        out.flush();
    }

    /** {@code ClassName.method} or {@code ClassName}, as surefire names them. */
    private static String name(TestIdentifier test) {
        Optional<TestSource> source = test.getSource();
        if (source.isPresent() && source.get() instanceof MethodSource m) {
            String name = simple(m.getClassName()) + "." + m.getMethodName();
            // a parameterized test's invocation: its display name tells which one, e.g. "[2] Q8_0, p1"
            String display = test.getDisplayName();
            return display.startsWith(m.getMethodName() + "(") ? name : name + " " + display;
        }
        if (source.isPresent() && source.get() instanceof ClassSource c) {
            return simple(c.getClassName());
        }
        return test.getDisplayName();
    }

    private static String simple(String className) {
        return className.substring(className.lastIndexOf('.') + 1);
    }
}
