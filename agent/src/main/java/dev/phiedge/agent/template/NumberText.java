package dev.phiedge.agent.template;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.math.RoundingMode;

/**
 * Numbers as template text, bounded by {@link PromptTemplate#MAX_NUMBER_CHARS}. The length of a
 * {@link BigDecimal}'s text is worked out from {@code precision()} and {@code scale()} (both cheap)
 * before any text is made: {@code toPlainString()} on {@code 1e10000000} would build ten million digits.
 */
final class NumberText {

    private static final int MAX = PromptTemplate.MAX_NUMBER_CHARS;

    private NumberText() {}

    /** The untyped rule: the number as the payload wrote it (BigDecimal in plain notation, as before). */
    static String asWritten(String field, JsonNode node) throws TemplateRenderException {
        if (node.isBigDecimal()) {
            return plain(field, node.decimalValue());
        }
        if (node.isBigInteger()) {
            BigInteger value = node.bigIntegerValue();
            // 2^110 has 34 digits: a longer value cannot fit, and its digits are not worth computing.
            if (value.bitLength() > 110) {
                throw tooLong(field, "with about " + (int) (value.bitLength() * 0.30103 + 1) + " digits");
            }
            return checked(field, value.toString());
        }
        return checked(field, node.asText()); // int, long, and doubles from a parser other than PayloadReader
    }

    /** A typed placeholder's value: a number in the placeholder's format, else WRONG_TYPE. */
    static String format(TemplateField.PayloadPath path, JsonNode node, int index) throws TemplateRenderException {
        if (!node.isNumber() || (node.isFloatingPointNumber() && !node.isBigDecimal() && !Double.isFinite(node.doubleValue()))) {
            throw wrongType(path, node, index);
        }
        FieldFormat format = path.format();
        return switch (format.type()) {
            case AS_WRITTEN, NUMBER -> asWritten(path.source(), node);
            case INT -> integral(path, node.decimalValue(), index);
            case FIXED -> fixed(path.source(), node.decimalValue(), format.decimals(), node.decimalValue());
            // scaleByPowerOfTen only changes the scale; movePointRight would write 1e10000000 out in full.
            case PERCENT -> fixed(path.source(), node.decimalValue().scaleByPowerOfTen(2), 0, node.decimalValue()) + "%";
        };
    }

    private static String integral(TemplateField.PayloadPath path, BigDecimal value, int index)
            throws TemplateRenderException {
        if (value.scale() > 0) {
            BigDecimal stripped = value.stripTrailingZeros(); // 72.0 -> 72; cheap: the digits are the payload's
            if (stripped.scale() > 0) {
                throw new TemplateRenderException(TemplateRenderException.Kind.WRONG_TYPE, path.source(), "{"
                        + path.source() + "}: expected a whole number" + element(index) + ", got " + describe(value));
            }
            value = stripped;
        }
        if (plainLength(value) > MAX) {
            throw tooLong(path.source(), describe(value));
        }
        return value.signum() == 0 ? "0" : value.setScale(0).toPlainString(); // scale <= 0 here: exact
    }

    /**
     * {@code value} with {@code decimals} decimals, rounded half up; no exponent. {@code written} is the
     * payload's number, for messages.
     */
    private static String fixed(String field, BigDecimal value, int decimals, BigDecimal written)
            throws TemplateRenderException {
        // |value| < 10^magnitude; a magnitude over MAX means more than MAX digits before the point.
        long magnitude = (long) value.precision() - value.scale();
        if (magnitude > MAX && value.signum() != 0) {
            throw tooLong(field, describe(written));
        }
        BigDecimal rounded;
        if (value.signum() == 0 || magnitude <= -(decimals + 1)) {
            // |value| < 10^-(decimals+1) < half a unit of the last decimal: it rounds to zero. Decided here
            // because setScale on 1e-10000000 would divide by 10^9999998.
            rounded = BigDecimal.ZERO.setScale(decimals);
        } else {
            rounded = value.setScale(decimals, RoundingMode.HALF_UP); // scale <= precision + decimals: cheap
        }
        String text = rounded.toPlainString();
        if (text.length() > MAX) {
            throw tooLong(field, describe(written));
        }
        return text;
    }

    private static String plain(String field, BigDecimal value) throws TemplateRenderException {
        if (plainLength(value) > MAX) {
            throw tooLong(field, describe(value));
        }
        return value.toPlainString();
    }

    /** The length of {@code value.toPlainString()}, computed without making it. */
    static long plainLength(BigDecimal value) {
        long precision = value.precision();
        long scale = value.scale();
        long sign = value.signum() < 0 ? 1 : 0;
        if (value.signum() == 0 && scale <= 0) {
            return 1; // "0", whatever the exponent
        }
        if (scale <= 0) {
            return sign + precision - scale; // digits, then -scale zeros
        }
        if (scale >= precision) {
            return sign + 2 + scale; // "0." then scale - precision zeros, then the digits
        }
        return sign + precision + 1; // digits with a point inside
    }

    private static String checked(String field, String text) throws TemplateRenderException {
        if (text.length() > MAX) {
            throw tooLong(field, text.length() > 2 * MAX ? "with " + text.length() + " characters" : text);
        }
        return text;
    }

    /** A short description of a number for messages: its scientific form when that is short. */
    private static String describe(BigDecimal value) {
        return value.precision() <= MAX ? value.toString() : "with " + value.precision() + " significant digits";
    }

    private static TemplateRenderException tooLong(String field, String number) {
        return new TemplateRenderException(TemplateRenderException.Kind.BAD_NUMBER, field, "{" + field + "}: the number "
                + number + " cannot be rendered in " + MAX + " characters");
    }

    static TemplateRenderException wrongType(TemplateField.PayloadPath path, JsonNode node, int index) {
        String got = switch (node.getNodeType()) {
            case STRING -> "a string";
            case BOOLEAN -> "a boolean";
            case NULL -> "null";
            case OBJECT, POJO -> "an object";
            case ARRAY -> "an array";
            case NUMBER -> "a number that is not finite";
            default -> "a " + node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
        };
        return new TemplateRenderException(TemplateRenderException.Kind.WRONG_TYPE, path.source(), "{" + path.source()
                + "}: expected a JSON number" + element(index) + ", got " + got);
    }

    private static String element(int index) {
        return index < 0 ? "" : " (element " + index + ")";
    }
}
