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
 * payload of deeply nested arrays would otherwise cost stack and time on the intake thread.
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

    /** Parses one JSON document; the exception says whether it was malformed or too deep. */
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
            throw new PayloadException(PayloadException.Kind.TOO_DEEP, firstLine(e.getOriginalMessage()));
        } catch (IOException e) {
            throw new PayloadException(PayloadException.Kind.NOT_JSON, firstLine(e.getMessage()));
        }
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
        /** Why the payload was refused. */
        public enum Kind { NOT_JSON, TOO_DEEP }

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
