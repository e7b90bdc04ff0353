package dev.phiedge.agent.store;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.zip.CRC32C;
import org.tinylog.Logger;

/**
 * An append-only log of checksummed records in segment files, the storage under {@link MessageStore}.
 *
 * <p>Layout: a folder of segment files named by the sequence number of their first record, zero-padded
 * to 20 digits ({@code 00000000000000000042.seg}), each a run of records:
 * <pre>
 *   offset  size  field
 *   0       4     body length N (big-endian, 0 .. MAX_BODY)
 *   4       4     CRC-32C of bytes 8 .. 17+N (type, sequence and body)
 *   8       1     record type (the caller's)
 *   9       8     sequence number (big-endian; one more than the record before it, across segments)
 *   17      N     body
 * </pre>
 * Records are written with one {@code write} each and made durable by {@link #sync()} ({@code fsync}
 * of the segment; a new segment's folder entry is synced when it is created). A crash can leave the last
 * segment with a torn tail: a record cut short or whose checksum does not match. Reading stops there, the
 * tail is cut off (the position is logged) and appending goes on after the last whole record. A bad record
 * in an older segment (the disk, not a crash) loses the rest of that segment only, and says so.
 *
 * <p>Segments are removed oldest first ({@link #removeOldestSegment()}): a record that resolves an earlier
 * one must never outlive it, and removing in order keeps that true. Not thread-safe: its owner locks.
 */
final class RecordLog implements AutoCloseable {

    /** What {@link #open} found in the files, for the log and the stats. */
    record OpenReport(int segments, long records, int tornTails, long bytesDiscarded) {}

    /** One record as read back. */
    record Record(byte type, long sequence, byte[] body, long segmentStart) {}

    static final int HEADER = 17;
    static final int MAX_BODY = 64 << 20;
    private static final String SUFFIX = ".seg";

    private final Path directory;
    private final long segmentBytes;
    private final Deque<Segment> segments = new ArrayDeque<>();
    private FileChannel current;
    private long nextSequence = 1;
    private long totalBytes;

    private record Segment(long firstSequence, Path path) {}

    private RecordLog(Path directory, long segmentBytes) {
        this.directory = directory;
        this.segmentBytes = segmentBytes;
    }

    /**
     * Opens (creating it if needed) the log in {@code directory}, handing every whole record to
     * {@code replay} in order.
     *
     * @param segmentBytes a segment is closed and a new one started once it holds this many bytes
     */
    static RecordLog open(Path directory, long segmentBytes, java.util.function.Consumer<Record> replay,
                          java.util.function.Consumer<OpenReport> report) throws IOException {
        Files.createDirectories(directory);
        RecordLog log = new RecordLog(directory, segmentBytes);
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(directory, "*" + SUFFIX)) {
            stream.forEach(files::add);
        }
        files.sort(null); // zero-padded names sort in sequence order
        long records = 0;
        int torn = 0;
        long discarded = 0;
        for (int i = 0; i < files.size(); i++) {
            Path file = files.get(i);
            long first = parseFirstSequence(file);
            log.segments.addLast(new Segment(first, file));
            ScanResult scan = scan(file, first, replay);
            records += scan.records;
            if (scan.records > 0) {
                log.nextSequence = Math.max(log.nextSequence, scan.lastSequence + 1);
            } else {
                log.nextSequence = Math.max(log.nextSequence, first);
            }
            long size = Files.size(file);
            if (scan.validBytes < size) {
                boolean last = i == files.size() - 1;
                discarded += size - scan.validBytes;
                torn++;
                if (last) {
                    Logger.warn("Store {}: torn tail at byte {} ({}); {} byte(s) cut off", file, scan.validBytes,
                            scan.problem, size - scan.validBytes);
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                        ch.truncate(scan.validBytes);
                        ch.force(true);
                    }
                } else {
                    Logger.error("Store {}: bad record at byte {} ({}); the rest of this segment, {} byte(s), is lost",
                            file, scan.validBytes, scan.problem, size - scan.validBytes);
                }
            }
            log.totalBytes += Files.size(file);
        }
        report.accept(new OpenReport(files.size(), records, torn, discarded));
        if (log.segments.isEmpty()) {
            log.startSegment();
        } else {
            Segment last = log.segments.peekLast();
            log.current = FileChannel.open(last.path(), StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        }
        return log;
    }

    private static long parseFirstSequence(Path file) throws IOException {
        String name = file.getFileName().toString();
        try {
            return Long.parseLong(name.substring(0, name.length() - SUFFIX.length()));
        } catch (NumberFormatException e) {
            throw new IOException("Store " + file + ": not a segment name (expected 20 digits and " + SUFFIX + ")");
        }
    }

    private record ScanResult(long records, long lastSequence, long validBytes, String problem) {}

    /** Reads whole, checksummed records from the start of {@code file}; stops at the first bad one. */
    private static ScanResult scan(Path file, long firstSequence, java.util.function.Consumer<Record> replay)
            throws IOException {
        long records = 0;
        long lastSequence = firstSequence - 1;
        long offset = 0;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer header = ByteBuffer.allocate(HEADER);
            while (offset < size) {
                if (size - offset < HEADER) {
                    return new ScanResult(records, lastSequence, offset, "a record header cut short");
                }
                header.clear();
                readFully(ch, header, offset);
                header.flip();
                int length = header.getInt();
                int crc = header.getInt();
                byte type = header.get();
                long sequence = header.getLong();
                if (length < 0 || length > MAX_BODY) {
                    return new ScanResult(records, lastSequence, offset, "record length " + length + " out of range");
                }
                if (size - offset - HEADER < length) {
                    return new ScanResult(records, lastSequence, offset, "a record of " + length + " bytes cut short");
                }
                ByteBuffer body = ByteBuffer.allocate(length);
                readFully(ch, body, offset + HEADER);
                if (checksum(type, sequence, body.array()) != crc) {
                    return new ScanResult(records, lastSequence, offset, "checksum mismatch");
                }
                if (sequence <= lastSequence) {
                    return new ScanResult(records, lastSequence, offset, "sequence " + sequence + " after " + lastSequence);
                }
                replay.accept(new Record(type, sequence, body.array(), firstSequence));
                records++;
                lastSequence = sequence;
                offset += HEADER + length;
            }
        }
        return new ScanResult(records, lastSequence, offset, "");
    }

    private static void readFully(FileChannel ch, ByteBuffer buffer, long position) throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = ch.read(buffer, at);
            if (n < 0) {
                throw new IOException("unexpected end of file");
            }
            at += n;
        }
    }

    private static int checksum(byte type, long sequence, byte[] body) {
        CRC32C crc = new CRC32C();
        crc.update(type);
        ByteBuffer seq = ByteBuffer.allocate(8).putLong(0, sequence);
        crc.update(seq.array());
        crc.update(body);
        return (int) crc.getValue();
    }

    /** Appends one record (not yet durable: see {@link #sync()}); returns its sequence number. */
    long append(byte type, byte[] body) throws IOException {
        if (body.length > MAX_BODY) {
            throw new IOException("a record of " + body.length + " bytes is over the store's limit of " + MAX_BODY);
        }
        if (current.position() >= segmentBytes) {
            current.force(false);
            current.close();
            startSegment();
        }
        long sequence = nextSequence++;
        ByteBuffer record = ByteBuffer.allocate(HEADER + body.length);
        record.putInt(body.length).putInt(checksum(type, sequence, body)).put(type).putLong(sequence).put(body).flip();
        while (record.hasRemaining()) {
            current.write(record);
        }
        totalBytes += HEADER + body.length;
        return sequence;
    }

    /** Makes every appended record durable ({@code fsync} of the current segment). */
    void sync() throws IOException {
        current.force(false);
    }

    private void startSegment() throws IOException {
        Path path = directory.resolve(String.format("%020d%s", nextSequence, SUFFIX));
        current = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
        segments.addLast(new Segment(nextSequence, path));
        syncDirectory();
    }

    /** The folder entry of a new or removed segment must itself reach the disk. */
    private void syncDirectory() {
        try (FileChannel dir = FileChannel.open(directory, StandardOpenOption.READ)) {
            dir.force(true);
        } catch (IOException e) {
            // Some file systems cannot sync a folder; the segment's own fsync still holds its records.
            Logger.debug("Store: cannot sync folder {}: {}", directory, e.getMessage());
        }
    }

    /**
     * The first sequence number of the second-oldest segment: every record of the oldest segment has a
     * smaller one. {@link Long#MAX_VALUE} when there is only the segment being written.
     */
    long secondSegmentStart() {
        if (segments.size() < 2) {
            return Long.MAX_VALUE;
        }
        var it = segments.iterator();
        it.next();
        return it.next().firstSequence();
    }

    int segmentCount() {
        return segments.size();
    }

    /** Deletes the oldest segment; the one being written is never removed. */
    void removeOldestSegment() throws IOException {
        if (segments.size() <= 1) {
            throw new IllegalStateException("the segment being written cannot be removed");
        }
        Segment oldest = segments.pollFirst();
        totalBytes -= Files.size(oldest.path());
        Files.delete(oldest.path());
        syncDirectory();
    }

    /** Bytes on disk across all segments. */
    long totalBytes() {
        return totalBytes;
    }

    long nextSequence() {
        return nextSequence;
    }

    @Override
    public void close() throws IOException {
        if (current != null && current.isOpen()) {
            current.force(false);
            current.close();
        }
    }
}
