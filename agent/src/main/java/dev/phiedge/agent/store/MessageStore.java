package dev.phiedge.agent.store;

import dev.phiedge.agent.config.StoreConfig;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongConsumer;
import org.tinylog.Logger;

/**
 * The agent's disk store: the journal of accepted events and the outbox of messages to publish, in one
 * {@link RecordLog}, so that neither a crash, a power cut nor a broker or network outage of any length
 * loses them.
 *
 * <p>Three record types: {@link #INBOUND} (an accepted message, journaled before the broker is told it
 * was received), {@link #OUTBOUND} (a result or error report to publish) and {@link #RESOLVED} (names an
 * earlier record that needs nothing more: its event was answered or dropped, its message delivered,
 * refused or dropped for space). A record is live until resolved. On open, the live records are what is
 * left to do: inbound ones are handled again, outbound ones published again (so after a crash an answer
 * can be sent twice; MQTT's QoS 1 allows that, and the event id tells copies apart).
 *
 * <p>What is durable when: {@link #sync()} fsyncs everything appended so far. The agent syncs before it
 * acknowledges a QoS 1 event to the broker and before it counts a result as processed; resolutions are
 * synced with the next sync (a resolution lost in a crash only repeats work).
 *
 * <p>Size: the store holds at most {@code maxBytes} on disk. Segments are removed oldest first once all
 * their records are resolved; when the limit is reached with an outbox backlog, the oldest undelivered
 * messages are dropped (and counted) until the oldest segment can go. Undelivered messages are also held
 * in memory (by the outbox), so {@code maxBytes} bounds the heap they take too.
 *
 * <p>One agent per folder: a lock file refuses a second process. Thread-safe.
 */
public final class MessageStore implements AutoCloseable {

    static final byte INBOUND = 1;
    static final byte OUTBOUND = 2;
    static final byte RESOLVED = 3;

    /** How a record was resolved (stored with the resolution, for whoever reads the files). */
    public enum Resolution { DONE, DELIVERED, REFUSED, DROPPED_FOR_SPACE }

    /** An accepted message read back from the journal. */
    public record Journaled(long sequence, InboundMessage message) {}

    /** A message to publish read back from the outbox. */
    public record Queued(long sequence, OutboundMessage message) {}

    private final RecordLog log;
    private final long maxBytes;
    private final FileChannel lockChannel;
    private final FileLock lock;
    /** Live records: sequence to type. */
    private final TreeMap<Long, Byte> live = new TreeMap<>();
    private final List<Journaled> replayedInbound = new ArrayList<>();
    private final List<Queued> replayedOutbound = new ArrayList<>();
    private final RecordLog.OpenReport openReport;
    private LongConsumer droppedForSpace = seq -> { };
    private long droppedForSpaceCount;

    private MessageStore(Path directory, long maxBytes) throws IOException {
        this.maxBytes = maxBytes;
        java.nio.file.Files.createDirectories(directory);
        this.lockChannel = FileChannel.open(directory.resolve("lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
        FileLock acquired;
        try {
            acquired = lockChannel.tryLock();
        } catch (OverlappingFileLockException e) {
            acquired = null;
        }
        if (acquired == null) {
            lockChannel.close();
            throw new IOException("the store " + directory + " is in use by another agent (give each agent its own store.path)");
        }
        this.lock = acquired;
        TreeMap<Long, RecordLog.Record> records = new TreeMap<>();
        RecordLog.OpenReport[] report = new RecordLog.OpenReport[1];
        // Segments are a quarter of the limit at most, so removing whole segments can keep within it.
        long segmentBytes = Math.max(64 << 10, Math.min(4L << 20, maxBytes / 4));
        this.log = RecordLog.open(directory, segmentBytes, r -> {
            switch (r.type()) {
                case INBOUND, OUTBOUND -> records.put(r.sequence(), r);
                case RESOLVED -> records.remove(decodeResolved(r.body()));
                default -> Logger.warn("Store: record {} has unknown type {}; ignored", r.sequence(), r.type());
            }
        }, r -> report[0] = r);
        this.openReport = report[0];
        for (RecordLog.Record r : records.values()) {
            try {
                if (r.type() == INBOUND) {
                    replayedInbound.add(new Journaled(r.sequence(), decodeInbound(r.body())));
                } else {
                    replayedOutbound.add(new Queued(r.sequence(), decodeOutbound(r.body())));
                }
                live.put(r.sequence(), r.type());
            } catch (UncheckedIOException e) {
                Logger.error("Store {}: record {} skipped: {}", directory, r.sequence(), e.getMessage());
            }
        }
        compact();
    }

    /** Opens the store in its folder, creating it if needed; what was left to do is in {@link #replayedInbound()} and {@link #replayedOutbound()}. */
    public static MessageStore open(StoreConfig config) throws IOException {
        MessageStore store = new MessageStore(config.directory(), config.maxBytes());
        RecordLog.OpenReport r = store.openReport;
        Logger.info("Store {}: {} segment(s), {} record(s); {} event(s) to handle again, {} message(s) to publish",
                config.directory(), r.segments(), r.records(), store.replayedInbound.size(), store.replayedOutbound.size());
        return store;
    }

    /** Told the sequence number of each undelivered message dropped to stay within the size limit. */
    public synchronized void onDroppedForSpace(LongConsumer listener) {
        this.droppedForSpace = listener;
    }

    /** Events accepted before the last stop and not yet answered, in the order they arrived. */
    public List<Journaled> replayedInbound() {
        return List.copyOf(replayedInbound);
    }

    /** Messages queued before the last stop and not yet delivered, in order. */
    public List<Queued> replayedOutbound() {
        return List.copyOf(replayedOutbound);
    }

    /** Torn or damaged record runs found (and cut off) when the store was opened. */
    public int tornTails() {
        return openReport.tornTails();
    }

    /** Journals an accepted message; durable after the next {@link #sync()}. */
    public synchronized long journal(InboundMessage message) {
        return append(INBOUND, encodeInbound(message));
    }

    /** Queues a message to publish; durable after the next {@link #sync()}. */
    public synchronized long enqueue(OutboundMessage message) {
        long sequence = append(OUTBOUND, encodeOutbound(message));
        enforceLimit();
        return sequence;
    }

    /** Marks a record as needing nothing more; a record already resolved is left as it is. */
    public synchronized void resolve(long sequence, Resolution resolution) {
        if (live.remove(sequence) == null) {
            return;
        }
        byte[] body = new byte[9];
        java.nio.ByteBuffer.wrap(body).putLong(sequence).put((byte) resolution.ordinal());
        append(RESOLVED, body);
        compact();
    }

    public synchronized boolean isLive(long sequence) {
        return live.containsKey(sequence);
    }

    /** fsync: everything appended so far survives a crash or power cut from here on. */
    public synchronized void sync() {
        try {
            log.sync();
        } catch (IOException e) {
            throw new UncheckedIOException("Store: fsync failed", e);
        }
    }

    /** Undelivered messages held now. */
    public synchronized long pendingOutbound() {
        return live.values().stream().filter(t -> t == OUTBOUND).count();
    }

    public synchronized long droppedForSpace() {
        return droppedForSpaceCount;
    }

    public synchronized long bytesOnDisk() {
        return log.totalBytes();
    }

    private long append(byte type, byte[] body) {
        try {
            long sequence = log.append(type, body);
            if (type != RESOLVED) {
                live.put(sequence, type);
            }
            return sequence;
        } catch (IOException e) {
            throw new UncheckedIOException("Store: cannot append to " + e.getMessage(), e);
        }
    }

    /** Removes the oldest segments while none of their records is live. */
    private void compact() {
        try {
            while (log.segmentCount() > 1 && (live.isEmpty() || live.firstKey() >= log.secondSegmentStart())) {
                log.removeOldestSegment();
            }
        } catch (IOException e) {
            Logger.warn("Store: cannot remove an old segment: {}", e.getMessage());
        }
    }

    /**
     * Over the size limit: drop the oldest undelivered messages of the oldest segment so that it can be
     * removed. Journaled events are never dropped here (they are answered within seconds and bounded by
     * the queue), so a segment they hold waits for them.
     */
    private void enforceLimit() {
        while (log.totalBytes() > maxBytes && log.segmentCount() > 1) {
            long boundary = log.secondSegmentStart();
            List<Long> oldest = new ArrayList<>(live.headMap(boundary).keySet());
            if (oldest.stream().anyMatch(seq -> live.get(seq) == INBOUND)) {
                return;
            }
            for (long seq : oldest) {
                live.remove(seq);
                byte[] body = new byte[9];
                java.nio.ByteBuffer.wrap(body).putLong(seq).put((byte) Resolution.DROPPED_FOR_SPACE.ordinal());
                append(RESOLVED, body);
                droppedForSpaceCount++;
                droppedForSpace.accept(seq);
            }
            if (!oldest.isEmpty()) {
                Logger.warn("Store over its limit of {} bytes: dropped the {} oldest undelivered message(s)", maxBytes,
                        oldest.size());
            }
            compact();
        }
    }

    @Override
    public synchronized void close() {
        try {
            log.close();
        } catch (IOException e) {
            Logger.warn("Store: closing failed: {}", e.getMessage());
        }
        try {
            lock.release();
            lockChannel.close();
        } catch (IOException e) {
            Logger.debug("Store: releasing the lock: {}", e.getMessage());
        }
    }

    // Record bodies: DataOutput encoding (big-endian; strings as modified UTF-8 with a 2-byte length,
    // byte arrays as a 4-byte length and the bytes; an Optional as a presence byte and the value).

    static byte[] encodeInbound(InboundMessage m) {
        return encode(out -> {
            out.writeUTF(m.topic());
            writeBytes(out, m.payload());
            out.writeByte(m.qos());
            out.writeBoolean(m.retained());
            writeOptionalString(out, m.responseTopic());
            writeOptionalBytes(out, m.correlationData());
            out.writeBoolean(m.messageExpirySeconds().isPresent());
            out.writeLong(m.messageExpirySeconds().orElse(0L));
            // Wall-clock time of arrival: nanoTime does not survive a restart, deadlines must.
            out.writeLong(System.currentTimeMillis() - TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - m.receivedNanos()));
        });
    }

    static InboundMessage decodeInbound(byte[] body) {
        return decode(body, in -> {
            String topic = in.readUTF();
            byte[] payload = readBytes(in);
            int qos = in.readByte();
            boolean retained = in.readBoolean();
            Optional<String> responseTopic = readOptionalString(in);
            Optional<byte[]> correlation = readOptionalBytes(in);
            boolean hasExpiry = in.readBoolean();
            long expiry = in.readLong();
            long receivedMillis = in.readLong();
            long receivedNanos = System.nanoTime()
                    - TimeUnit.MILLISECONDS.toNanos(Math.max(0, System.currentTimeMillis() - receivedMillis));
            return new InboundMessage(topic, payload, qos, retained, responseTopic, correlation,
                    hasExpiry ? Optional.of(expiry) : Optional.empty(), receivedNanos);
        });
    }

    static byte[] encodeOutbound(OutboundMessage m) {
        return encode(out -> {
            out.writeUTF(m.topic());
            writeBytes(out, m.payload());
            out.writeByte(m.qos());
            out.writeBoolean(m.retain());
            writeOptionalBytes(out, m.correlationData());
        });
    }

    static OutboundMessage decodeOutbound(byte[] body) {
        return decode(body, in -> new OutboundMessage(in.readUTF(), readBytes(in), in.readByte(), in.readBoolean(),
                readOptionalBytes(in)));
    }

    static long decodeResolved(byte[] body) {
        return java.nio.ByteBuffer.wrap(body).getLong();
    }

    private interface Writer {
        void write(DataOutputStream out) throws IOException;
    }

    private interface Reader<T> {
        T read(DataInputStream in) throws IOException;
    }

    private static byte[] encode(Writer writer) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            writer.write(out);
        } catch (IOException e) {
            throw new UncheckedIOException(e); // in-memory streams do not fail
        }
        return bytes.toByteArray();
    }

    private static <T> T decode(byte[] body, Reader<T> reader) {
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(body))) {
            return reader.read(in);
        } catch (IOException e) {
            // The checksum matched, so this is a record written by another version of the agent.
            throw new UncheckedIOException("Store: a record cannot be decoded: " + e.getMessage(), e);
        }
    }

    private static void writeBytes(DataOutputStream out, byte[] bytes) throws IOException {
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static byte[] readBytes(DataInputStream in) throws IOException {
        int length = in.readInt();
        if (length < 0 || length > RecordLog.MAX_BODY) {
            throw new IOException("byte string length " + length);
        }
        return in.readNBytes(length);
    }

    private static void writeOptionalString(DataOutputStream out, Optional<String> value) throws IOException {
        out.writeBoolean(value.isPresent());
        if (value.isPresent()) {
            out.writeUTF(value.get());
        }
    }

    private static Optional<String> readOptionalString(DataInputStream in) throws IOException {
        return in.readBoolean() ? Optional.of(in.readUTF()) : Optional.empty();
    }

    private static void writeOptionalBytes(DataOutputStream out, Optional<byte[]> value) throws IOException {
        out.writeBoolean(value.isPresent());
        if (value.isPresent()) {
            writeBytes(out, value.get());
        }
    }

    private static Optional<byte[]> readOptionalBytes(DataInputStream in) throws IOException {
        return in.readBoolean() ? Optional.of(readBytes(in)) : Optional.empty();
    }
}
