package dev.phiedge.runtime.testutil;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.platform.engine.TestExecutionResult;
import org.junit.platform.engine.support.descriptor.ClassSource;
import org.junit.platform.launcher.TestExecutionListener;
import org.junit.platform.launcher.TestIdentifier;
import org.junit.platform.launcher.TestPlan;

/**
 * With {@code -Dphiedge.testOutput=on-failure} (the agent's and the demo's surefire configuration): what a
 * test class prints, and what the code under test logs to the console, is held back while the class runs.
 * When one of its tests fails, all of it is printed after the class, for the failure's context; when every
 * test passed, it goes to {@code target/test-output/CLASS.txt} instead of the console. The agent's tests
 * provoke failures on purpose (refused TLS handshakes, a broker that goes away, a torn store file) and
 * the agent logs each at WARN, as it should: in a green run those lines only looked like failures.
 *
 * <p>tinylog's console writer looks {@code System.out} and {@code System.err} up for every entry, so
 * replacing them for the duration of a class is enough. Test classes run one after the other (no
 * parallel execution is configured); a line that a background thread logs after its class has ended
 * lands in the next class's output.
 */
public final class QuietPassingTestOutput implements TestExecutionListener {

    private static final boolean ENABLED = "on-failure".equals(System.getProperty("phiedge.testOutput"));

    private TestPlan plan;
    private TestIdentifier current;
    private PrintStream realOut;
    private PrintStream realErr;
    private ByteArrayOutputStream held;
    private boolean failed;

    @Override
    public synchronized void testPlanExecutionStarted(TestPlan testPlan) {
        plan = testPlan;
    }

    @Override
    public synchronized void executionStarted(TestIdentifier test) {
        if (!ENABLED || current != null || !isTopLevelClass(test)) {
            return;
        }
        current = test;
        failed = false;
        realOut = System.out;
        realErr = System.err;
        held = new ByteArrayOutputStream();
        PrintStream stream = new PrintStream(held, true, StandardCharsets.UTF_8);
        System.setOut(stream);
        System.setErr(stream);
    }

    @Override
    public synchronized void executionFinished(TestIdentifier test, TestExecutionResult result) {
        if (current == null) {
            return;
        }
        if (result.getStatus() == TestExecutionResult.Status.FAILED) {
            failed = true;
        }
        if (!test.equals(current)) {
            return;
        }
        System.out.flush();
        System.setOut(realOut);
        System.setErr(realErr);
        String className = ((ClassSource) test.getSource().orElseThrow()).getClassName();
        String text = held.toString(StandardCharsets.UTF_8);
        current = null;
        held = null;
        if (text.isEmpty()) {
            return;
        }
        if (failed) {
            realOut.println("---- what " + className + " printed and logged (a test failed) ----");
            realOut.print(text.endsWith("\n") ? text : text + "\n");
            realOut.println("---- end of " + className + " ----");
            realOut.flush();
        } else {
            try {
                Path file = Path.of("target", "test-output", className + ".txt");
                Files.createDirectories(file.getParent());
                Files.writeString(file, text);
            } catch (IOException e) {
                realErr.println("QuietPassingTestOutput: cannot keep the output of " + className + ": " + e);
            }
        }
    }

    private boolean isTopLevelClass(TestIdentifier test) {
        return test.getSource().filter(ClassSource.class::isInstance).isPresent()
                && plan != null && plan.getParent(test).map(p -> p.getParentId().isEmpty()).orElse(false);
    }
}
