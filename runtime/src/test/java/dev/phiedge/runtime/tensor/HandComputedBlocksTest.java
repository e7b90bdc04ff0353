package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Single blocks written byte by byte, with the expected values worked out by hand. */
class HandComputedBlocksTest {

    /** x[k] = 1 for every k, so a dot is the sum of the weights. */
    private static float[] ones(int n) {
        float[] x = new float[n];
        java.util.Arrays.fill(x, 1f);
        return x;
    }

    @Test
    void q4_0BlockDequantizesNibblesMinusEightTimesD() {
        byte[] block = new byte[18];
        // d = 0.5 as fp16: sign 0, exponent 14 (biased 15 -> 2^-1), mantissa 0 -> 0x3800, little-endian.
        block[0] = 0x00;
        block[1] = 0x38;
        // byte j holds weight j (low nibble) and weight j+16 (high nibble).
        block[2] = (byte) 0x80;  // w0 = (0-8)*0.5 = -4,   w16 = (8-8)*0.5 = 0
        block[3] = (byte) 0xF9;  // w1 = (9-8)*0.5 = 0.5,  w17 = (15-8)*0.5 = 3.5
        // bytes 4..17 are 0: w2..w15 = (0-8)*0.5 = -4 and w18..w31 = -4.
        WeightTensor t = WeightTensor.of(GgmlType.Q4_0, MemorySegment.ofArray(block), 1, 32);
        float[] w = new float[32];
        t.dequantizeRow(0, w, 0);
        float[] expected = new float[32];
        java.util.Arrays.fill(expected, -4f);
        expected[1] = 0.5f;
        expected[16] = 0f;
        expected[17] = 3.5f;
        assertArrayEquals(expected, w);
        // Sum of weights: 29 weights of -4 (= -116; all but w1, w16, w17) + 0.5 + 0 + 3.5 = -112.
        assertEquals(-112f, t.dot(0, ones(32), 0));
        // x = 0..31: -4*(sum 0..31 = 496) + (0.5+4)*1 + (0+4)*16 + (3.5+4)*17 = -1984 + 4.5 + 64 + 127.5 = -1788.
        float[] ramp = new float[32];
        for (int k = 0; k < 32; k++) ramp[k] = k;
        assertEquals(-1788f, t.dot(0, ramp, 0));
    }

    @Test
    void q8_0BlockDequantizesSignedBytesTimesD() {
        byte[] block = new byte[2 * 34];
        // Block 0: d = 0.25 = fp16 0x3400; qs[0] = -128, qs[1] = 127, qs[2] = 4, the rest 0.
        block[0] = 0x00;
        block[1] = 0x34;
        block[2] = (byte) 0x80; // -128 * 0.25 = -32
        block[3] = 0x7F;        //  127 * 0.25 = 31.75
        block[4] = 0x04;        //    4 * 0.25 = 1
        // Block 1: d = -2 = fp16 0xC000; every qs = 3, so every weight is -6.
        block[34] = 0x00;
        block[35] = (byte) 0xC0;
        for (int j = 0; j < 32; j++) block[36 + j] = 3;
        WeightTensor t = WeightTensor.of(GgmlType.Q8_0, MemorySegment.ofArray(block), 1, 64);
        float[] w = new float[64];
        t.dequantizeRow(0, w, 0);
        assertEquals(-32f, w[0]);
        assertEquals(31.75f, w[1]);
        assertEquals(1f, w[2]);
        assertEquals(0f, w[3]);
        for (int j = 32; j < 64; j++) assertEquals(-6f, w[j]);
        // Sum: -32 + 31.75 + 1 + 32 * (-6) = 0.75 - 192 = -191.25.
        assertEquals(-191.25f, t.dot(0, ones(64), 0));
    }

    @Test
    void q8_0QuantizerOfAHandBlock() {
        float[] x = new float[32];
        x[0] = 254f;   // amax 254 -> d = 2, id = 0.5
        x[1] = -3f;    // -1.5 rounds away from zero to -2
        x[2] = 1f;     // 0.5 rounds away from zero to 1
        x[3] = 0.9f;   // 0.45 rounds to 0
        byte[] q = Quantizer.quantize(GgmlType.Q8_0, x, 0, 32);
        assertEquals(0x00, q[0]);        // d = 2.0 = fp16 0x4000
        assertEquals(0x40, q[1]);
        assertEquals(127, q[2]);
        assertEquals(-2, q[3]);
        assertEquals(1, q[4]);
        assertEquals(0, q[5]);
    }

    @Test
    void q4_0QuantizerOfAHandBlock() {
        float[] x = new float[32];
        x[0] = -16f;  // max (signed, largest magnitude) = -16 -> d = -16/-8 = 2, id = 0.5
        x[1] = 14f;   // 7 + 8.5 = 15.5 -> 15
        x[16] = 3f;   // 1.5 + 8.5 = 10 -> 10
        // the others: 0 + 8.5 -> 8; x0: -8 + 8.5 = 0.5 -> 0
        byte[] q = Quantizer.quantize(GgmlType.Q4_0, x, 0, 32);
        assertEquals(0x00, q[0]);        // d = 2.0 = fp16 0x4000
        assertEquals(0x40, q[1]);
        assertEquals((byte) 0xA0, q[2]); // low nibble w0 = 0, high nibble w16 = 10
        assertEquals((byte) 0x8F, q[3]); // low w1 = 15, high w17 = 8
        assertEquals((byte) 0x88, q[4]);
    }

    @Test
    void wrongSizesAndTypesFailClearly() {
        MemorySegment seg = MemorySegment.ofArray(new byte[18 * 2]);
        var e = assertThrows(IllegalArgumentException.class, () -> WeightTensor.of(GgmlType.Q4_0, seg, 3, 32));
        assertTrue(e.getMessage().contains("needs 54 bytes"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WeightTensor.of(GgmlType.Q4_0, seg, 1, 48));
        assertTrue(e.getMessage().contains("multiple of the block size 32"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> WeightTensor.of(GgmlType.Q2_K, seg, 1, 256));
        assertTrue(e.getMessage().contains("Q2_K is not supported"), e.getMessage());
        WeightTensor t = WeightTensor.of(GgmlType.Q4_0, seg, 2, 32);
        assertThrows(IndexOutOfBoundsException.class, () -> t.dot(2, new float[32], 0));
        assertThrows(IndexOutOfBoundsException.class, () -> t.dot(0, new float[40], 9));
    }
}
