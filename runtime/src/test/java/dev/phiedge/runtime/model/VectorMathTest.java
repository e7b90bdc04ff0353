package dev.phiedge.runtime.model;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The forward pass's elementwise kernels against float64 evaluations of their formulas. */
class VectorMathTest {

    @Test
    void swigluIsSiluOfTheGateTimesUpWithinAFewUlps() {
        Random rnd = new Random(4);
        int n = 8192 + 13; // a lane tail
        float[] gate = new float[n], up = new float[n + 5], out = new float[n + 2];
        for (int i = 0; i < n; i++) gate[i] = (float) (rnd.nextGaussian() * 4);
        for (int i = 0; i < up.length; i++) up[i] = (float) rnd.nextGaussian();
        float[] edges = {0f, -0f, 1e-30f, -1e-30f, 20f, -20f, 88f, -88f, 100f, -100f, 1e30f, -1e30f};
        System.arraycopy(edges, 0, gate, 0, edges.length);
        System.arraycopy(edges, 0, gate, n - edges.length, edges.length); // in the scalar tail too
        VectorMath.swiglu(gate, 0, up, 5, out, 2, n);
        for (int i = 0; i < n; i++) {
            double g = gate[i];
            double expected = g / (1 + Math.exp(-g)) * up[5 + i];
            float got = out[2 + i];
            assertTrue(Float.isFinite(got) || !Double.isFinite(expected), "element " + i + " (g = " + g + ")");
            assertEquals(expected, got, 4 * Math.ulp((float) expected) + 1e-37, "element " + i + " (g = " + g + ", u = " + up[5 + i] + ")");
        }
        assertEquals(0f, out[0]);
        assertEquals(0f, out[1]);
    }
}
