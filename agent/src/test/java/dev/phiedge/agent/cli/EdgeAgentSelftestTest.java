package dev.phiedge.agent.cli;

import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code edge-agent selftest}: the runtime's kernel self-test from the agent's command line. */
class EdgeAgentSelftestTest {

    @Test
    void selftestChecksTheKernelsAndSaysSo() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        EdgeAgentCli cli = new EdgeAgentCli(model -> {
            throw new AssertionError("selftest loads no model");
        }, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
        int status = cli.run("selftest", "--types", "Q4_0,Q4_K", "--seconds", "1");
        String text = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, status, text + err);
        assertTrue(text.contains("vector species: Species[float, "), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("Q4_0 ") && l.contains(" ok (")), text);
        assertTrue(text.lines().anyMatch(l -> l.startsWith("Q4_K ") && l.contains(" ok (")), text);
        assertTrue(text.contains("OK: every kernel matched its scalar ground truth (2 tensor types"), text);
    }

    @Test
    void selftestHelpAndMistakesNameEdgeAgent() {
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        EdgeAgentCli cli = new EdgeAgentCli(model -> null, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
        assertEquals(0, cli.run("selftest", "--help"));
        assertTrue(out.toString(StandardCharsets.UTF_8).startsWith("usage: edge-agent selftest [--seconds S]"), out.toString());
        assertEquals(2, cli.run("selftest", "--seconds", "0"));
        assertTrue(err.toString(StandardCharsets.UTF_8).startsWith("edge-agent: --seconds must be more than 0"), err.toString());
    }
}
