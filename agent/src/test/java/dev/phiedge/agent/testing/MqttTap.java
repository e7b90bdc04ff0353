package dev.phiedge.agent.testing;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A witness on the wire between one MQTT v5 client (the agent) and the broker, fed by a {@link TcpProxy}:
 * it parses the packets both ways and records, by event id, what the broker delivered to the client and
 * which of the client's publishes the broker acknowledged or refused. A test uses it to say who lost an
 * event: one the broker never delivered (though it acknowledged it to the publisher), or one whose result
 * the broker acknowledged and then never passed on, was lost by the broker; one delivered to the agent
 * whose result the broker never acknowledged was lost by the agent.
 *
 * <p>Event ids are read from the payloads as the agent does: an event's {@code id}, a result's
 * {@code event_id}. Only PUBLISH and PUBACK are parsed; other packets are skipped by their length.
 */
public final class MqttTap implements TcpProxy.Tap {

    /** A client publish the broker answered with a PUBACK reason code of 0x80 or more. */
    public record Refusal(String topic, int reasonCode, Optional<String> eventId) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final Map<Integer, Parser> parsers = new ConcurrentHashMap<>();
    /** Per connection: the client's unacknowledged QoS 1 publishes by packet id. */
    private final Map<Integer, Map<Integer, Publish>> pending = new ConcurrentHashMap<>();
    private final Set<String> deliveredToClient = ConcurrentHashMap.newKeySet();
    private final Set<String> publishedByClient = ConcurrentHashMap.newKeySet();
    private final Set<String> ackedByBroker = ConcurrentHashMap.newKeySet();
    private final List<Refusal> refusals = java.util.Collections.synchronizedList(new ArrayList<>());

    private record Publish(String topic, Optional<String> eventId) {}

    private final Map<Integer, Map<Integer, String>> aliases = new ConcurrentHashMap<>();
    private final java.util.concurrent.atomic.AtomicInteger staleAliases = new java.util.concurrent.atomic.AtomicInteger();

    /**
     * PUBLISH packets with an empty topic name and a topic alias this connection never set: a client
     * that resends, on a new connection, a packet aliased on the old one (Paho 1.2.5 does, for QoS 1
     * messages in flight at the disconnect; eclipse-paho/paho.mqtt.java#1104). Mosquitto answers with
     * DISCONNECT 0x82 (protocol error), and the client can loop on it.
     */
    public int staleAliasPublishes() {
        return staleAliases.get();
    }

    /** The Topic Alias property (0x23) among a PUBLISH's properties in {@code [from, to)}, or 0. */
    private static int topicAlias(byte[] body, int from, int to) {
        int at = from;
        while (at < to) {
            int id = body[at++] & 0xff;
            switch (id) {
                case 0x01 -> at += 1;                                   // payload format indicator
                case 0x02 -> at += 4;                                   // message expiry interval
                case 0x23 -> {
                    return ((body[at] & 0xff) << 8) | (body[at + 1] & 0xff);
                }
                case 0x03, 0x08, 0x09 -> at += 2 + (((body[at] & 0xff) << 8) | (body[at + 1] & 0xff)); // string / binary
                case 0x0B -> at = (int) varInt(body, at)[1];            // subscription identifier
                case 0x26 -> {                                          // user property: two strings
                    at += 2 + (((body[at] & 0xff) << 8) | (body[at + 1] & 0xff));
                    at += 2 + (((body[at] & 0xff) << 8) | (body[at + 1] & 0xff));
                }
                default -> {
                    return 0; // not a PUBLISH property: stop rather than misread
                }
            }
        }
        return 0;
    }

    @Override
    public void forwarded(int connection, TcpProxy.Direction direction, byte[] buffer, int offset, int length) {
        parsers.computeIfAbsent(connection * 2 + direction.ordinal(), k -> new Parser(connection, direction))
                .feed(buffer, offset, length);
    }

    @Override
    public void closed(int connection) {
        parsers.remove(connection * 2);
        parsers.remove(connection * 2 + 1);
        // Unacknowledged publishes of a dead connection stay unacknowledged: the client must send them again.
        pending.remove(connection);
        aliases.remove(connection * 2);
        aliases.remove(connection * 2 + 1);
    }

    /** Ids of the events (payload {@code id}) the broker sent to the client. */
    public Set<String> deliveredToClient() {
        return Set.copyOf(deliveredToClient);
    }

    /** Result event ids ({@code event_id}) the client sent towards the broker, acknowledged or not. */
    public Set<String> publishedByClient() {
        return Set.copyOf(publishedByClient);
    }

    /** Result event ids whose QoS 1 publish the broker acknowledged with a success reason code. */
    public Set<String> ackedByBroker() {
        return Set.copyOf(ackedByBroker);
    }

    /** Publishes the broker refused (PUBACK reason code >= 0x80), in order. */
    public List<Refusal> refusals() {
        synchronized (refusals) {
            return List.copyOf(refusals);
        }
    }

    private void packet(int connection, TcpProxy.Direction direction, int type, int flags, byte[] body) {
        if (type == 3) { // PUBLISH
            int qos = (flags >> 1) & 3;
            int at = 0;
            int topicLength = ((body[at] & 0xff) << 8) | (body[at + 1] & 0xff);
            at += 2;
            String topic = new String(body, at, topicLength, StandardCharsets.UTF_8);
            at += topicLength;
            int packetId = -1;
            if (qos > 0) {
                packetId = ((body[at] & 0xff) << 8) | (body[at + 1] & 0xff);
                at += 2;
            }
            long[] props = varInt(body, at);
            int alias = topicAlias(body, (int) props[1], (int) props[1] + (int) props[0]);
            at = (int) props[1] + (int) props[0];
            if (alias > 0) { // MQTT v5 topic alias: a name sets it, an empty name uses it (per connection and direction)
                Map<Integer, String> aliases = this.aliases.computeIfAbsent(connection * 2 + direction.ordinal(),
                        k -> new ConcurrentHashMap<>());
                if (topic.isEmpty()) {
                    topic = aliases.getOrDefault(alias, "");
                    if (topic.isEmpty()) { // a protocol error (MQTT v5 3.3.4): the alias was set on an earlier connection
                        staleAliases.incrementAndGet();
                    }
                } else {
                    aliases.put(alias, topic);
                }
            }
            JsonNode json = json(body, at);
            if (direction == TcpProxy.Direction.SERVER_TO_CLIENT) {
                text(json, "id").ifPresent(deliveredToClient::add);
            } else {
                Optional<String> eventId = text(json, "event_id");
                eventId.ifPresent(publishedByClient::add);
                if (qos > 0) {
                    pending.computeIfAbsent(connection, k -> new ConcurrentHashMap<>()).put(packetId, new Publish(topic, eventId));
                }
            }
        } else if (type == 4 && direction == TcpProxy.Direction.SERVER_TO_CLIENT) { // PUBACK to the client
            int packetId = ((body[0] & 0xff) << 8) | (body[1] & 0xff);
            int reason = body.length > 2 ? body[2] & 0xff : 0;
            Publish publish = pending.getOrDefault(connection, Map.of()).get(packetId);
            if (publish != null) {
                pending.get(connection).remove(packetId);
                if (reason < 0x80) {
                    publish.eventId().ifPresent(ackedByBroker::add);
                } else {
                    refusals.add(new Refusal(publish.topic(), reason, publish.eventId()));
                }
            }
        }
    }

    private static JsonNode json(byte[] body, int at) {
        try {
            return JSON.readTree(body, at, body.length - at);
        } catch (java.io.IOException | RuntimeException e) {
            return JSON.nullNode();
        }
    }

    private static Optional<String> text(JsonNode json, String field) {
        JsonNode value = json.path(field);
        return value.isTextual() || value.isNumber() ? Optional.of(value.asText()) : Optional.empty();
    }

    /** {value, bytes used}. */
    private static long[] varInt(byte[] data, int at) {
        long value = 0;
        int shift = 0;
        int i = at;
        while (true) {
            int b = data[i++] & 0xff;
            value |= (long) (b & 0x7f) << shift;
            if ((b & 0x80) == 0) {
                return new long[] {value, i};
            }
            shift += 7;
        }
    }

    /** Reassembles one direction of one connection into packets. */
    private final class Parser {
        private final int connection;
        private final TcpProxy.Direction direction;
        private final ByteArrayOutputStream buffered = new ByteArrayOutputStream();
        /** Bytes the packet at the front needs in all, once its header is known (so big ones are not re-read). */
        private long needed;

        Parser(int connection, TcpProxy.Direction direction) {
            this.connection = connection;
            this.direction = direction;
        }

        void feed(byte[] bytes, int offset, int length) {
            buffered.write(bytes, offset, length);
            if (buffered.size() < needed) {
                return;
            }
            needed = 0;
            byte[] data = buffered.toByteArray();
            int at = 0;
            while (true) {
                if (data.length - at < 2) {
                    break;
                }
                int header = data[at] & 0xff;
                long remaining = 0;
                int shift = 0;
                int i = at + 1;
                boolean complete = false;
                while (i < data.length && i <= at + 4) {
                    int b = data[i++] & 0xff;
                    remaining |= (long) (b & 0x7f) << shift;
                    shift += 7;
                    if ((b & 0x80) == 0) {
                        complete = true;
                        break;
                    }
                }
                if (!complete || data.length - i < remaining) {
                    if (complete) {
                        needed = (i - at) + remaining;
                    }
                    break;
                }
                byte[] body = java.util.Arrays.copyOfRange(data, i, i + (int) remaining);
                try {
                    packet(connection, direction, header >> 4, header & 0xf, body);
                } catch (RuntimeException malformed) {
                    // a packet we misread is not evidence either way
                }
                at = i + (int) remaining;
            }
            buffered.reset();
            buffered.write(data, at, data.length - at);
        }
    }
}
