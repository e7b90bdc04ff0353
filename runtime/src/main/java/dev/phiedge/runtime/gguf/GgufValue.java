package dev.phiedge.runtime.gguf;

import java.util.Arrays;

/**
 * One metadata value. Scalars are held as Integer (8/16/32-bit signed, 8/16-bit unsigned), Long
 * (uint32, 64-bit), Float, Double, Boolean or String; arrays as int[], long[], float[], double[],
 * boolean[], String[] or, for arrays of arrays, GgufValue[]. {@code elementType} is set for arrays.
 */
public record GgufValue(GgufValueType type, GgufValueType elementType, Object value) {

    public static GgufValue of(String s) { return new GgufValue(GgufValueType.STRING, null, s); }
    public static GgufValue ofUInt32(long v) { return new GgufValue(GgufValueType.UINT32, null, v); }
    public static GgufValue ofInt32(int v) { return new GgufValue(GgufValueType.INT32, null, v); }
    public static GgufValue ofFloat32(float v) { return new GgufValue(GgufValueType.FLOAT32, null, v); }
    public static GgufValue ofBool(boolean v) { return new GgufValue(GgufValueType.BOOL, null, v); }
    public static GgufValue ofStrings(String[] v) { return new GgufValue(GgufValueType.ARRAY, GgufValueType.STRING, v); }
    public static GgufValue ofFloats(float[] v) { return new GgufValue(GgufValueType.ARRAY, GgufValueType.FLOAT32, v); }
    public static GgufValue ofInt32s(int[] v) { return new GgufValue(GgufValueType.ARRAY, GgufValueType.INT32, v); }

    /** Number of elements for an array, 1 for a scalar. */
    public int length() {
        return switch (value) {
            case int[] a -> a.length;
            case long[] a -> a.length;
            case float[] a -> a.length;
            case double[] a -> a.length;
            case boolean[] a -> a.length;
            case Object[] a -> a.length;
            default -> 1;
        };
    }

    /** A short, readable rendering for {@code phi3 inspect}: long arrays are elided. */
    public String display(int maxElements) {
        if (type != GgufValueType.ARRAY) return value instanceof String s ? '"' + s + '"' : String.valueOf(value);
        String body = switch (value) {
            case int[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, maxElements)));
            case long[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, maxElements)));
            case float[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, maxElements)));
            case double[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, maxElements)));
            case boolean[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, maxElements)));
            case Object[] a -> Arrays.toString(Arrays.copyOf(a, Math.min(a.length, maxElements)));
            default -> String.valueOf(value);
        };
        return elementType + "[" + length() + "] " + (length() > maxElements ? body.replaceFirst("]$", ", ...]") : body);
    }
}
