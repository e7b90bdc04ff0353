package dev.phiedge.agent.telemetry;

import java.util.Map;

/**
 * Writes the Prometheus text exposition format, version 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/): one group per metric, its
 * {@code # HELP} and {@code # TYPE} lines first, then its samples, {@code \n} line endings and a final
 * line feed. HELP text escapes backslash and line feed; label values escape backslash, double quote and
 * line feed. Values are written as Go's {@code ParseFloat} reads them ({@code NaN}, {@code +Inf}, {@code -Inf}).
 */
final class Exposition {

    private final StringBuilder out = new StringBuilder(4096);

    /** Starts a metric's group. {@code type} is counter, gauge, summary, histogram or untyped. */
    Exposition family(String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(escapeHelp(help)).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    Exposition sample(String name, double value) {
        return sample(name, Map.of(), value);
    }

    /** One sample; {@code labels} in iteration order (pass an ordered map for more than one). */
    Exposition sample(String name, Map<String, String> labels, double value) {
        out.append(name);
        if (!labels.isEmpty()) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, String> label : labels.entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                out.append(label.getKey()).append("=\"").append(escapeLabelValue(label.getValue())).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(number(value)).append('\n');
        return this;
    }

    String text() {
        return out.toString();
    }

    static String escapeHelp(String text) {
        return text.replace("\\", "\\\\").replace("\n", "\\n");
    }

    static String escapeLabelValue(String text) {
        return text.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /** Whole numbers without a fraction (counters read as counts), others as Java's shortest round-trip text. */
    static String number(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "+Inf" : "-Inf";
        }
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            return Long.toString((long) value);
        }
        return Double.toString(value);
    }
}
