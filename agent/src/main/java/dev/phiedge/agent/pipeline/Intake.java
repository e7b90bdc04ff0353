package dev.phiedge.agent.pipeline;

import com.fasterxml.jackson.databind.JsonNode;
import dev.phiedge.agent.config.AgentConfig;
import dev.phiedge.agent.config.RouteConfig;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.telemetry.AgentStats;
import dev.phiedge.agent.telemetry.DropReason;
import dev.phiedge.agent.telemetry.RejectReason;
import dev.phiedge.agent.template.PayloadReader;
import dev.phiedge.agent.template.PromptTemplate;
import dev.phiedge.agent.template.TemplateInput;
import dev.phiedge.agent.template.TemplateRenderException;
import dev.phiedge.agent.topic.TopicFilter;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.tinylog.Logger;

/**
 * Turns an arriving message into events, one per matching route. It does bounded work only: the size
 * check comes before any decoding, the JSON depth is capped, and refusals go to the {@link ErrorReporter}.
 * Rendering happens here, not in the worker, so a broken event is refused at once instead of after
 * waiting its turn. The daemon calls {@link #events} from its {@link Inbox}, which journals and queues
 * what comes back; {@link #accept} queues directly (the command line's {@code once}).
 */
public final class Intake {

    private final AgentConfig config;
    private final PayloadReader reader;
    private final EventQueue queue;
    private final ErrorReporter errors;
    private final AgentStats stats;
    private volatile boolean open = true;

    public Intake(AgentConfig config, EventQueue queue, ErrorReporter errors, AgentStats stats) {
        this.config = config;
        this.reader = new PayloadReader(config.limits().maxJsonDepth());
        this.queue = queue;
        this.errors = errors;
        this.stats = stats;
    }

    /** Stops taking events: what arrives afterwards is counted as dropped at shutdown. */
    public void close() {
        open = false;
    }

    public void accept(InboundMessage message) {
        if (!open) {
            config.routes().stream().filter(r -> r.subscribe().matches(message.topic()))
                    .forEach(r -> stats.dropped(DropReason.SHUTDOWN));
            return;
        }
        events(message).forEach(queue::offer);
    }

    /**
     * The events a message becomes, one per matching route that can render it; refusals are reported and
     * counted, and what no route matches (or another agent published) becomes nothing.
     */
    public List<Event> events(InboundMessage message) {
        stats.received();
        List<RouteConfig> routes = config.routes().stream().filter(r -> r.subscribe().matches(message.topic())).toList();
        if (routes.isEmpty()) {
            return List.of(); // a subscription that overlaps no route cannot happen; nothing to answer
        }
        if (message.fromAgent()) {
            // Another agent's result or report: answering it could start two agents answering each other.
            routes.forEach(r -> stats.dropped(DropReason.LOOP));
            return List.of();
        }
        Optional<String> routeName = routes.size() == 1 ? Optional.of(routes.getFirst().name()) : Optional.empty();
        Optional<String> correlationId = message.correlationData().map(Intake::correlationText);
        if (message.payload().length > config.limits().maxPayloadBytes()) {
            errors.report(message.topic(), routeName, RejectReason.TOO_LARGE, message.payload().length
                    + " bytes; the limit is " + config.limits().maxPayloadBytes(), correlationId);
            return List.of();
        }
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(message.payload())).toString();
        } catch (CharacterCodingException e) {
            Optional<String> binary = binaryKind(message.payload());
            if (binary.isPresent()) {
                errors.report(message.topic(), routeName, RejectReason.BINARY_PAYLOAD, "the payload is binary ("
                        + binary.get() + "); events must be JSON text, and image input is not supported", correlationId);
            } else {
                errors.report(message.topic(), routeName, RejectReason.NOT_UTF8, "the payload is not valid UTF-8",
                        correlationId);
            }
            return List.of();
        }
        JsonNode payload;
        try {
            payload = reader.read(text);
        } catch (PayloadReader.PayloadException e) {
            RejectReason reason = RejectReason.valueOf(e.kind().name()); // the same names, kind for kind
            errors.report(message.topic(), routeName, reason, e.getMessage(), correlationId);
            return List.of();
        }
        String eventId = eventId(payload, correlationId);
        TemplateInput input = new TemplateInput(payload, text, message.topic(), config.deviceId(),
                config.limits().maxFieldChars());
        List<Event> events = new java.util.ArrayList<>(routes.size());
        for (RouteConfig route : routes) {
            if (!route.accepts(payload)) {
                stats.filtered(); // the route's when: conditions said no: not an error
                Logger.debug("Event {} on '{}' filtered out of route {} by {}", eventId, message.topic(), route.name(),
                        route.when().flatMap(w -> w.firstFailing(payload)).map(Object::toString).orElse("its conditions"));
                continue;
            }
            render(route, message, input, eventId).ifPresent(events::add);
        }
        return events;
    }

    private Optional<Event> render(RouteConfig route, InboundMessage message, TemplateInput input, String eventId) {
        String prompt;
        String publishTopic;
        try {
            prompt = route.prompt().render(input);
            publishTopic = route.publish().render(input);
        } catch (TemplateRenderException e) {
            errors.report(message.topic(), Optional.of(route.name()), RejectReason.valueOf(e.kind().name()), e.getMessage(),
                    Optional.of(eventId));
            return Optional.empty();
        }
        String topicProblem = TopicFilter.topicNameProblem(publishTopic);
        if (topicProblem != null) {
            errors.report(message.topic(), Optional.of(route.name()), RejectReason.INVALID_PUBLISH_TOPIC,
                    "publish topic: " + topicProblem, Optional.of(eventId));
            return Optional.empty();
        }
        Optional<String> coalesceKey = route.queue().coalesceKey().flatMap(field -> {
            try {
                return Optional.of(PromptTemplate.renderField(field, input));
            } catch (TemplateRenderException e) {
                return Optional.empty(); // no key: the event simply does not coalesce
            }
        });
        return Optional.of(new Event(route, message.topic(), prompt, publishTopic, eventId, message.responseTopic(),
                message.correlationData(), coalesceKey, message.receivedNanos(), deadline(route, message)));
    }

    /** The earlier of the route's deadline and the message's own v5 expiry. */
    private static long deadline(RouteConfig route, InboundMessage message) {
        long deadline = Long.MAX_VALUE;
        if (route.queue().deadline().isPresent()) {
            deadline = message.receivedNanos() + route.queue().deadline().get().toNanos();
        }
        if (message.messageExpirySeconds().isPresent()) {
            long expiry = message.receivedNanos() + TimeUnit.SECONDS.toNanos(message.messageExpirySeconds().get());
            deadline = Math.min(deadline, expiry);
        }
        return deadline;
    }

    /**
     * What a payload that is not UTF-8 looks like: an image format by its signature (JPEG FF D8 FF, PNG
     * 89 'PNG', GIF 'GIF8', WebP 'RIFF'....'WEBP'), else binary when more than a tenth of its first 512
     * bytes are control bytes other than tab, line feed and carriage return; empty for mistyped text.
     */
    static Optional<String> binaryKind(byte[] p) {
        if (p.length >= 3 && (p[0] & 0xff) == 0xFF && (p[1] & 0xff) == 0xD8 && (p[2] & 0xff) == 0xFF) {
            return Optional.of("a JPEG image");
        }
        if (p.length >= 4 && (p[0] & 0xff) == 0x89 && p[1] == 'P' && p[2] == 'N' && p[3] == 'G') {
            return Optional.of("a PNG image");
        }
        if (p.length >= 4 && p[0] == 'G' && p[1] == 'I' && p[2] == 'F' && p[3] == '8') {
            return Optional.of("a GIF image");
        }
        if (p.length >= 12 && p[0] == 'R' && p[1] == 'I' && p[2] == 'F' && p[3] == 'F'
                && p[8] == 'W' && p[9] == 'E' && p[10] == 'B' && p[11] == 'P') {
            return Optional.of("a WebP image");
        }
        int n = Math.min(p.length, 512);
        int control = 0;
        for (int i = 0; i < n; i++) {
            int b = p[i] & 0xff;
            if (b < 0x20 && b != '\t' && b != '\n' && b != '\r') {
                control++;
            }
        }
        return control * 10 > n ? Optional.of(p.length + " bytes") : Optional.empty();
    }

    /** The payload's {@code id}, else {@code after.id} (Frigate), else the v5 correlation data, else new. */
    private static String eventId(JsonNode payload, Optional<String> correlationId) {
        for (JsonNode candidate : new JsonNode[] {payload.path("id"), payload.path("after").path("id")}) {
            if (candidate.isTextual() || candidate.isNumber()) {
                return candidate.asText();
            }
        }
        return correlationId.orElseGet(() -> UUID.randomUUID().toString());
    }

    /** Correlation data is bytes; show it as text when it is UTF-8, as hex otherwise. */
    private static String correlationText(byte[] data) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(data)).toString();
        } catch (CharacterCodingException e) {
            return HexFormat.of().formatHex(data);
        }
    }
}
