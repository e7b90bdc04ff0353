package dev.phiedge.agent.template;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import java.io.IOException;

/**
 * Reads event payloads into JSON trees the way templates need them: decimals are kept as
 * {@link java.math.BigDecimal} with their written scale, so {@code 21.0} renders as {@code 21.0} and not
 * {@code 21}, which is what the demo model was trained on. Nesting depth is capped because a hostile
 * payload of deeply nested arrays would otherwise cost stack and time on the intake thread; Jackson's
 * other read constraints stay at their defaults (a number of at most 1000 digits, a string of at most
 * 20,000,000 characters), each refused with its own {@link PayloadException.Kind}.
 */
public final class PayloadReader {

    private final ObjectMapper mapper;

    public PayloadReader(int maxDepth) {
        JsonFactory factory = JsonFactory.builder()
                .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(maxDepth).build())
                .build();
        this.mapper = JsonMapper.builder(factory)
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .build();
    }

    /** Parses one JSON document; the exception's kind says whether it was malformed, too deep or too big. */
    public JsonNode read(String text) throws PayloadException {
        if (text.isBlank()) {
            throw new PayloadException(PayloadException.Kind.NOT_JSON, "empty payload");
        }
        try (JsonParser parser = mapper.createParser(text)) {
            JsonNode node = mapper.readTree(parser);
            if (node == null) {
                throw new PayloadException(PayloadException.Kind.NOT_JSON, "empty payload");
            }
            return node;
        } catch (StreamConstraintsException e) {
            throw constraintViolated(e);
        } catch (IOException e) {
            throw new PayloadException(PayloadException.Kind.NOT_JSON, firstLine(e.getMessage()));
        }
    }

    /**
     * Jackson reports every read constraint with this one exception type; its message, fixed since
     * 2.15, says which: "Document nesting depth (..) exceeds", "Number value length (..) exceeds",
     * "BigDecimal scale (..) magnitude exceeds", "String value length", "Name length", "Document length",
     * "Token count". PayloadReaderTest pins each kind used here, so a changed message fails a test.
     */
    private static PayloadException constraintViolated(StreamConstraintsException e) {
        String message = firstLine(e.getOriginalMessage()).replaceFirst(", from `[^`]*`\\)", ")");
        PayloadException.Kind kind;
        if (message.contains("nesting depth")) {
            kind = PayloadException.Kind.TOO_DEEP;
        } else if (message.startsWith("Number value length") || message.contains("scale")) {
            kind = PayloadException.Kind.BAD_NUMBER;
        } else {
            kind = PayloadException.Kind.TOO_LARGE; // a string, a key, the document or its token count
        }
        return new PayloadException(kind, message);
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "malformed JSON";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    /** A payload that is not usable JSON. */
    public static final class PayloadException extends Exception {
        /**
         * Why the payload was refused; each constant has a {@code RejectReason} of the same name. BAD_NUMBER:
         * a number longer than Jackson reads (1000 digits); TOO_LARGE: a string (20,000,000 characters) or
         * another size constraint; TOO_DEEP: only nesting.
         */
        public enum Kind { NOT_JSON, TOO_DEEP, BAD_NUMBER, TOO_LARGE }

        private final Kind kind;

        public PayloadException(Kind kind, String message) {
            super(message);
            this.kind = kind;
        }

        public Kind kind() {
            return kind;
        }
    }
}
