package dev.phiedge.agent.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.agent.config.StoreConfig;
import dev.phiedge.agent.mqtt.InboundMessage;
import dev.phiedge.agent.mqtt.OutboundMessage;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MessageStoreTest {

    @TempDir
    Path dir;

    private StoreConfig config(long maxBytes) {
        return new StoreConfig(dir, maxBytes);
    }

    private static OutboundMessage result(int i) {
        return new OutboundMessage("results/" + i, ("{\"n\":" + i + "}").getBytes(StandardCharsets.UTF_8), 1, i % 2 == 0,
                i % 3 == 0 ? Optional.of(new byte[] {1, 2, (byte) i}) : Optional.empty());
    }

    private static InboundMessage event(int i) {
        return new InboundMessage("greenhouse/" + i + "/climate", ("{\"id\":\"e" + i + "\"}").getBytes(StandardCharsets.UTF_8),
                1, false, Optional.of("reply/" + i), Optional.of(new byte[] {(byte) i}), Optional.of(60L), System.nanoTime());
    }

    private List<Path> segments() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
        }
    }

    @Test
    void whatIsNotResolvedIsReadBackAfterReopeningInOrder() throws Exception {
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            long e1 = store.journal(event(1));
            long e2 = store.journal(event(2));
            long r1 = store.enqueue(result(1));
            long r2 = store.enqueue(result(2));
            long r3 = store.enqueue(result(3));
            store.resolve(e1, MessageStore.Resolution.DONE);
            store.resolve(r2, MessageStore.Resolution.DELIVERED);
            store.sync();
            assertTrue(e2 < r1 && r1 < r3);
        }
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            List<MessageStore.Journaled> inbound = store.replayedInbound();
            assertEquals(1, inbound.size());
            InboundMessage back = inbound.getFirst().message();
            InboundMessage sent = event(2);
            assertEquals(sent.topic(), back.topic());
            assertArrayEquals(sent.payload(), back.payload());
            assertEquals(1, back.qos());
            assertEquals(Optional.of("reply/2"), back.responseTopic());
            assertArrayEquals(new byte[] {2}, back.correlationData().orElseThrow());
            assertEquals(Optional.of(60L), back.messageExpirySeconds());

            List<MessageStore.Queued> outbound = store.replayedOutbound();
            assertEquals(List.of("results/1", "results/3"), outbound.stream().map(q -> q.message().topic()).toList());
            OutboundMessage three = outbound.get(1).message();
            assertArrayEquals("{\"n\":3}".getBytes(StandardCharsets.UTF_8), three.payload());
            assertFalse(three.retain());
            assertArrayEquals(new byte[] {1, 2, 3}, three.correlationData().orElseThrow());
            assertEquals(2, store.pendingOutbound());
        }
    }

    @Test
    void aTornTailIsCutOffAndTheRecordsBeforeItSurvive() throws Exception {
        long sizeBeforeLast;
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            store.enqueue(result(1));
            store.enqueue(result(2));
            store.sync();
            sizeBeforeLast = Files.size(segments().getLast());
            store.enqueue(result(3));
            store.sync();
        }
        Path last = segments().getLast();
        long full = Files.size(last);
        try (RandomAccessFile file = new RandomAccessFile(last.toFile(), "rw")) {
            file.setLength(full - 3); // the power went while the third record was being written
        }
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            assertEquals(1, store.tornTails());
            assertEquals(List.of("results/1", "results/2"),
                    store.replayedOutbound().stream().map(q -> q.message().topic()).toList());
            assertEquals(sizeBeforeLast, Files.size(last), "cut back to the end of the last whole record");
            store.enqueue(result(4)); // appending goes on after the last whole record
            store.sync();
        }
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            assertEquals(0, store.tornTails());
            assertEquals(List.of("results/1", "results/2", "results/4"),
                    store.replayedOutbound().stream().map(q -> q.message().topic()).toList());
        }
    }

    @Test
    void aRecordWhoseChecksumDoesNotMatchIsNotBelieved() throws Exception {
        long sizeBeforeLast;
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            store.enqueue(result(1));
            store.sync();
            sizeBeforeLast = Files.size(segments().getLast());
            store.enqueue(result(2));
            store.sync();
        }
        Path last = segments().getLast();
        try (RandomAccessFile file = new RandomAccessFile(last.toFile(), "rw")) {
            long at = Files.size(last) - 2; // a byte of the second record's body
            file.seek(at);
            int b = file.read();
            file.seek(at);
            file.write(b ^ 0x40);
        }
        try (MessageStore store = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            assertEquals(1, store.tornTails());
            assertEquals(List.of("results/1"), store.replayedOutbound().stream().map(q -> q.message().topic()).toList());
            assertEquals(sizeBeforeLast, Files.size(last));
        }
    }

    @Test
    void resolvedSegmentsAreRemovedAndStayResolvedAfterReopening() throws Exception {
        byte[] kilobyte = new byte[1024];
        try (MessageStore store = MessageStore.open(config(1L << 20))) { // segments of 256 KiB
            for (int i = 0; i < 3000; i++) {
                long seq = store.enqueue(new OutboundMessage("t/" + i, kilobyte, 1, false, Optional.empty()));
                store.resolve(seq, MessageStore.Resolution.DELIVERED);
            }
            store.sync();
            // 3 MB were written; all resolved, so at most the segment being written is left
            assertTrue(store.bytesOnDisk() <= 256 << 10, "bytes on disk: " + store.bytesOnDisk());
            assertEquals(1, segments().size());
        }
        try (MessageStore store = MessageStore.open(config(1L << 20))) {
            assertEquals(List.of(), store.replayedOutbound());
        }
    }

    @Test
    void overItsLimitTheOldestUndeliveredMessagesAreDroppedAndCounted() throws Exception {
        byte[] kilobyte = new byte[1024];
        List<Long> dropped = new java.util.ArrayList<>();
        int sent = 3000; // about 3 MB into a 1 MiB store, nothing delivered
        try (MessageStore store = MessageStore.open(config(1L << 20))) {
            store.onDroppedForSpace(dropped::add);
            for (int i = 0; i < sent; i++) {
                store.enqueue(new OutboundMessage("t/" + i, kilobyte, 1, false, Optional.empty()));
                assertTrue(store.bytesOnDisk() <= (1L << 20) + (256 << 10) + 1100,
                        "at most the limit plus the record that crossed it: " + store.bytesOnDisk());
            }
            store.sync();
            assertEquals(dropped.size(), store.droppedForSpace());
            assertEquals(sent, dropped.size() + store.pendingOutbound());
        }
        try (MessageStore store = MessageStore.open(config(1L << 20))) {
            List<String> left = store.replayedOutbound().stream().map(q -> q.message().topic()).toList();
            // What is left is the newest messages, in order and without a gap; the oldest were dropped.
            int first = sent - left.size();
            assertEquals(dropped.size(), first);
            for (int i = 0; i < left.size(); i++) {
                assertEquals("t/" + (first + i), left.get(i));
            }
            assertTrue(left.size() > 500, "a 1 MiB store keeps several hundred 1 KB messages: " + left.size());
        }
    }

    @Test
    void aSecondAgentCannotOpenTheSameStore() throws Exception {
        try (MessageStore first = MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES))) {
            IOException e = assertThrows(IOException.class, () -> MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES)));
            assertTrue(e.getMessage().contains("in use by another agent"), e.getMessage());
        }
        MessageStore.open(config(StoreConfig.DEFAULT_MAX_BYTES)).close(); // released on close
    }
}
