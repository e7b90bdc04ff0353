package dev.phiedge.agent.frigate;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.phiedge.agent.config.FrigateConfig;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import org.tinylog.Logger;

/**
 * Writes the descriptions the model made back into Frigate, so they show up in Frigate's own UI and
 * search. One request per event, {@code POST <url>/api/events/<id>/description} with the JSON body
 * {@code {"description": "<text>"}} (Frigate's HTTP API, "Set event description":
 * https://docs.frigate.video/integrations/api/set-description-events-event-id-description-post/ ; Frigate
 * answers 200 with {@code {"success": true, ...}}, or 404 with {@code {"success": false, "message": "Event
 * <id> not found"}} for an id it does not know, see frigate/api/event.py). With a token, the request
 * carries {@code Authorization: Bearer <token>}: Frigate's authenticated port (8971) takes its JWT that
 * way (https://docs.frigate.video/configuration/authentication/); its internal port 5000 needs none.
 * <p>
 * Everything happens on one thread of its own: {@link #submit} only queues and never blocks, so neither
 * inference nor MQTT ever waits for Frigate. The queue is bounded; when it is full the oldest waiting
 * description is dropped (and reported). Descriptions are coalesced by event id: a newer description of an
 * event that is still waiting (or being retried) replaces the older one, and once a description of an
 * event has been written, later ones for it are skipped (the ids written are remembered, the most recent
 * {@link #DEFAULT_REMEMBERED} of them).
 * <p>
 * A request is retried with exponential back-off (1 s, 2 s, 4 s, ..., at most 30 s) after a 5xx answer, a
 * timeout or a connection error, up to {@code retries} times; a 4xx answer is not retried (404: Frigate
 * does not know the event). Every description that is not written (refused, given up, dropped) is reported
 * to the {@link FailureListener} with the reason {@value #REASON}. The token is never logged.
 */
public final class FrigateClient implements AutoCloseable {

    /** The reason every failure is reported with, for the agent's errors topic. */
    public static final String REASON = "frigate_writeback_failed";
    /** How many descriptions may wait for the writer thread. */
    public static final int DEFAULT_CAPACITY = 64;
    /** How many written event ids are remembered to skip later descriptions of the same event. */
    public static final int DEFAULT_REMEMBERED = 1024;
    /** The first retry delay; each next one doubles, up to {@link #MAX_BACKOFF}. */
    public static final Duration INITIAL_BACKOFF = Duration.ofSeconds(1);
    public static final Duration MAX_BACKOFF = Duration.ofSeconds(30);
    /** How much of an error answer's body is kept for the report. */
    static final int MAX_ERROR_BODY = 300;

    /**
     * Told about every description that was not written. Called on the writer thread, or on the thread
     * that called {@link #submit} (a drop because the queue is full, an empty id or description); it must
     * not block (the agent passes its error reporter, which only queues a message).
     */
    @FunctionalInterface
    public interface FailureListener {
        /**
         * @param eventId the Frigate event id
         * @param reason  always {@value #REASON}
         * @param detail  what happened, in words (the HTTP status and Frigate's message, the last error after
         *                the retries, or why it was dropped); never the token
         */
        void failed(String eventId, String reason, String detail);
    }

    /** What the client has done since it started. */
    public record Counts(long written, long failed, long dropped, long replaced, long skipped) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI baseUrl;
    private final Optional<String> token;
    private final Duration timeout;
    private final int retries;
    private final Duration initialBackoff;
    private final int capacity;
    private final FailureListener listener;
    private final HttpClient http;
    private final Thread thread;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    /** Waiting descriptions by event id, oldest first. */
    private final LinkedHashMap<String, String> pending = new LinkedHashMap<>();
    /** The ids written, least recently written first, bounded. */
    private final LinkedHashMap<String, Boolean> written;
    /** The event being sent or retried, and a newer description of it that arrived meanwhile. */
    private String inFlightId;
    private String inFlightNewer;
    private boolean closed;
    private long writtenCount;
    private long failedCount;
    private long droppedCount;
    private long replacedCount;
    private long skippedCount;

    /**
     * A client for the configured Frigate, its writer thread started.
     *
     * @throws IOException the token file cannot be read or holds no usable token (the message names the
     *                     file, never the token)
     */
    public FrigateClient(FrigateConfig config, FailureListener listener) throws IOException {
        this(config.url(), config.readToken(), config.timeout(), config.retries(), INITIAL_BACKOFF, DEFAULT_CAPACITY,
                DEFAULT_REMEMBERED, listener);
    }

    /** For tests: every setting, the back-off and the bounds included. */
    FrigateClient(URI baseUrl, Optional<String> token, Duration timeout, int retries, Duration initialBackoff,
                  int capacity, int remembered, FailureListener listener) {
        this.baseUrl = Objects.requireNonNull(baseUrl, "baseUrl");
        this.token = Objects.requireNonNull(token, "token");
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        this.retries = retries;
        this.initialBackoff = initialBackoff;
        this.capacity = capacity;
        this.listener = Objects.requireNonNull(listener, "listener");
        if (capacity < 1 || remembered < 1 || retries < 0) {
            throw new IllegalArgumentException("capacity and remembered must be at least 1, retries at least 0");
        }
        this.written = new LinkedHashMap<>(16, 0.75f, false) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<String, Boolean> eldest) {
                return size() > remembered;
            }
        };
        this.http = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
        this.thread = Thread.ofPlatform().name("frigate-writeback").daemon(true).unstarted(this::run);
        thread.start();
    }

    /**
     * The Frigate event id of a {@code frigate/events} payload: {@code after.id} (text, or a number as
     * written), when present and not blank.
     */
    public static Optional<String> eventId(JsonNode payload) {
        JsonNode id = payload == null ? null : payload.path("after").path("id");
        if (id != null && (id.isTextual() || id.isNumber()) && !id.asText().isBlank()) {
            return Optional.of(id.asText());
        }
        return Optional.empty();
    }

    /**
     * Queues a description of an event; returns at once. A description that is empty or blank is not
     * written (Frigate would clear the event's description) and is reported; so is an empty id.
     */
    public void submit(String eventId, String description) {
        if (eventId == null || eventId.isBlank()) {
            refuse(String.valueOf(eventId), "no Frigate event id (the payload has no after.id): nothing written");
            return;
        }
        if (description == null || description.isBlank()) {
            refuse(eventId, "the description is empty; writing it would clear the event's description in Frigate, "
                    + "so nothing was written");
            return;
        }
        String droppedId = null;
        lock.lock();
        try {
            if (closed) {
                droppedCount++;
                Logger.debug("Frigate write-back of event {} not queued: the client is closed", eventId);
                return;
            }
            if (written.containsKey(eventId)) {
                skippedCount++;
                return;
            }
            if (eventId.equals(inFlightId)) {
                if (inFlightNewer != null) {
                    replacedCount++;
                }
                inFlightNewer = description;
                return;
            }
            if (pending.containsKey(eventId)) {
                pending.put(eventId, description); // keeps its place in the queue
                replacedCount++;
                return;
            }
            if (pending.size() >= capacity) {
                Iterator<String> oldest = pending.keySet().iterator();
                droppedId = oldest.next();
                oldest.remove();
                droppedCount++;
            }
            pending.put(eventId, description);
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        if (droppedId != null) {
            tell(droppedId, "dropped: " + capacity + " descriptions were already waiting for Frigate "
                    + "(the oldest waiting one is dropped to make room)");
        }
    }

    /** What has been done so far. */
    public Counts counts() {
        lock.lock();
        try {
            return new Counts(writtenCount, failedCount, droppedCount, replacedCount, skippedCount);
        } finally {
            lock.unlock();
        }
    }

    /** Waits until nothing is waiting or being sent; false when {@code timeout} passed first. */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        lock.lock();
        try {
            while (!pending.isEmpty() || inFlightId != null) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                changed.awaitNanos(left);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }

    /** Stops at once: what is still waiting is not written (counted as dropped, not reported). */
    @Override
    public void close() {
        close(Duration.ZERO);
    }

    /**
     * Stops taking descriptions, gives those already queued up to {@code grace} to be written, then stops
     * the writer thread; what is left is counted as dropped (not reported: the agent is stopping).
     */
    public void close(Duration grace) {
        lock.lock();
        try {
            closed = true;
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        try {
            if (!grace.isZero() && !grace.isNegative()) {
                awaitIdle(grace);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        thread.interrupt();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(5));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        int left;
        lock.lock();
        try {
            left = pending.size();
            droppedCount += left;
            pending.clear();
        } finally {
            lock.unlock();
        }
        if (left > 0) {
            Logger.info("{} event description(s) not written to Frigate: the agent is stopping", left);
        }
        http.shutdownNow();
    }

    private void run() {
        while (true) {
            String id;
            String description;
            lock.lock();
            try {
                while (pending.isEmpty() && !closed) {
                    changed.await();
                }
                if (pending.isEmpty()) {
                    return; // closed and nothing left
                }
                Iterator<Map.Entry<String, String>> head = pending.entrySet().iterator();
                Map.Entry<String, String> first = head.next();
                id = first.getKey();
                description = first.getValue();
                head.remove();
                inFlightId = id;
                inFlightNewer = null;
            } catch (InterruptedException e) {
                return;
            } finally {
                lock.unlock();
            }
            boolean interrupted = false;
            try {
                deliver(id, description);
            } catch (InterruptedException e) {
                interrupted = true;
            } catch (RuntimeException e) {
                Logger.warn(e, "Frigate write-back of event {} failed unexpectedly", id);
            } finally {
                lock.lock();
                try {
                    inFlightId = null;
                    inFlightNewer = null;
                    changed.signalAll();
                } finally {
                    lock.unlock();
                }
            }
            if (interrupted) {
                return;
            }
        }
    }

    /** One event: the first attempt and the retries, each with the newest description of it. */
    private void deliver(String id, String description) throws InterruptedException {
        Duration backoff = initialBackoff;
        String lastError = "";
        for (int attempt = 0; attempt <= retries; attempt++) {
            if (attempt > 0) {
                sleep(backoff);
                backoff = backoff.multipliedBy(2);
                if (backoff.compareTo(MAX_BACKOFF) > 0) {
                    backoff = MAX_BACKOFF;
                }
                lock.lock();
                try {
                    if (inFlightNewer != null) {
                        description = inFlightNewer;
                        inFlightNewer = null;
                    }
                } finally {
                    lock.unlock();
                }
            }
            Outcome outcome = post(id, description);
            switch (outcome.kind) {
                case WRITTEN -> {
                    lock.lock();
                    try {
                        writtenCount++;
                        written.put(id, Boolean.TRUE);
                        if (inFlightNewer != null) {
                            skippedCount++; // arrived while this one was being written
                        }
                    } finally {
                        lock.unlock();
                    }
                    Logger.debug("Frigate event {}: description written", id);
                    return;
                }
                case REFUSED -> {
                    fail(id, outcome.detail + " (not retried)");
                    return;
                }
                case TRANSIENT -> lastError = outcome.detail;
            }
            Logger.debug("Frigate event {}: attempt {} of {} failed: {}", id, attempt + 1, retries + 1, outcome.detail);
        }
        fail(id, "gave up after " + (retries + 1) + (retries == 0 ? " attempt" : " attempts") + "; the last: " + lastError);
    }

    private void fail(String id, String detail) {
        lock.lock();
        try {
            failedCount++;
        } finally {
            lock.unlock();
        }
        Logger.debug("Frigate event {}: description not written: {}", id, detail);
        tell(id, detail);
    }

    /** A description refused before it was queued (no id, empty text): counted as failed and reported. */
    private void refuse(String id, String detail) {
        lock.lock();
        try {
            failedCount++;
        } finally {
            lock.unlock();
        }
        tell(id, detail);
    }

    /** Tells the listener; its mistakes are logged, never allowed to stop the writer thread. */
    private void tell(String id, String detail) {
        try {
            listener.failed(id, REASON, detail);
        } catch (RuntimeException e) {
            Logger.warn(e, "The Frigate write-back failure listener failed");
        }
    }

    private void sleep(Duration delay) throws InterruptedException {
        lock.lock();
        try {
            long left = delay.toNanos();
            while (left > 0) {
                left = changed.awaitNanos(left); // close() interrupts the thread; a signal only shortens nothing
            }
        } finally {
            lock.unlock();
        }
    }

    private enum Kind { WRITTEN, REFUSED, TRANSIENT }

    private record Outcome(Kind kind, String detail) {}

    /** The request for one description, as Frigate documents it. */
    HttpRequest request(String id, String description) {
        ObjectNode body = JSON.createObjectNode();
        body.put("description", description);
        byte[] bytes;
        try {
            bytes = JSON.writeValueAsBytes(body);
        } catch (IOException e) {
            throw new IllegalStateException(e); // a tree of one string always serializes
        }
        HttpRequest.Builder builder = HttpRequest.newBuilder(descriptionUri(id))
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes));
        token.ifPresent(t -> builder.header("Authorization", "Bearer " + t));
        return builder.build();
    }

    /** {@code <url>/api/events/<id>/description}, the id percent-encoded as one path segment. */
    URI descriptionUri(String id) {
        String base = baseUrl.toString();
        while (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        return URI.create(base + "/api/events/" + encodeSegment(id) + "/description");
    }

    private Outcome post(String id, String description) throws InterruptedException {
        HttpRequest request = request(id, description);
        CompletableFuture<HttpResponse<String>> future = http.sendAsync(request, response -> limitedBody());
        try {
            // The request timeout covers the wait for the answer's head; this bounds the body too.
            HttpResponse<String> response = future.get(timeout.toMillis() + 1000, TimeUnit.MILLISECONDS);
            int status = response.statusCode();
            if (status >= 200 && status < 300) {
                return new Outcome(Kind.WRITTEN, "");
            }
            String detail = "HTTP " + status + answerText(response.body());
            if (status == 404) {
                return new Outcome(Kind.REFUSED, detail + ": Frigate does not know event " + id);
            }
            if (status >= 500) {
                return new Outcome(Kind.TRANSIENT, detail);
            }
            return new Outcome(Kind.REFUSED, detail + (status == 401 || status == 403
                    ? ": not authorized (check frigate.token_file; Frigate's port 8971 needs a token)" : ""));
        } catch (TimeoutException e) {
            future.cancel(true);
            return new Outcome(Kind.TRANSIENT, "no answer within " + timeout.toMillis() + " ms");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof HttpTimeoutException) {
                return new Outcome(Kind.TRANSIENT, "no answer within " + timeout.toMillis() + " ms");
            }
            if (cause instanceof ConnectException) {
                return new Outcome(Kind.TRANSIENT, "cannot connect to " + baseUrl + ": "
                        + (cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName()));
            }
            if (cause instanceof IOException) {
                return new Outcome(Kind.TRANSIENT, "connection error: "
                        + (cause.getMessage() != null ? cause.getMessage() : cause.getClass().getSimpleName()));
            }
            return new Outcome(Kind.REFUSED, "request failed: " + cause);
        } catch (CancellationException e) {
            return new Outcome(Kind.TRANSIENT, "request cancelled");
        } catch (InterruptedException e) {
            future.cancel(true);
            throw e;
        }
    }

    /** Frigate's {@code message} when the answer is its JSON, else the start of the answer's text. */
    private static String answerText(String body) {
        if (body == null || body.isBlank()) {
            return "";
        }
        try {
            JsonNode json = JSON.readTree(body);
            if (json != null && json.path("message").isTextual()) {
                return " (" + clip(json.path("message").textValue()) + ")";
            }
            if (json != null && json.has("detail")) { // FastAPI's validation errors
                return " (" + clip(json.path("detail").toString()) + ")";
            }
        } catch (IOException e) {
            // not JSON (a proxy's page): its text
        }
        return " (" + clip(body.strip()) + ")";
    }

    private static String clip(String text) {
        return text.length() <= MAX_ERROR_BODY ? text : text.substring(0, MAX_ERROR_BODY) + "...";
    }

    /**
     * The answer's body as text, at most {@link #MAX_ERROR_BODY} * 4 bytes of it: only error messages are
     * read, and a broken proxy must not make the agent hold a huge page.
     */
    private static HttpResponse.BodySubscriber<String> limitedBody() {
        int limit = MAX_ERROR_BODY * 4;
        List<ByteBuffer> kept = new ArrayList<>();
        int[] size = {0};
        Flow.Subscriber<List<ByteBuffer>> subscriber = new Flow.Subscriber<>() {
            private Flow.Subscription subscription;

            @Override
            public void onSubscribe(Flow.Subscription s) {
                subscription = s;
                s.request(Long.MAX_VALUE);
            }

            @Override
            public void onNext(List<ByteBuffer> buffers) {
                for (ByteBuffer buffer : buffers) {
                    int room = limit - size[0];
                    if (room <= 0) {
                        break;
                    }
                    ByteBuffer slice = buffer.slice(buffer.position(), Math.min(room, buffer.remaining()));
                    ByteBuffer copy = ByteBuffer.allocate(slice.remaining()).put(slice).flip();
                    kept.add(copy);
                    size[0] += copy.remaining();
                }
            }

            @Override
            public void onError(Throwable throwable) {
            }

            @Override
            public void onComplete() {
            }
        };
        return HttpResponse.BodySubscribers.fromSubscriber(subscriber, s -> {
            ByteBuffer all = ByteBuffer.allocate(size[0]);
            kept.forEach(all::put);
            return new String(all.array(), 0, all.position(), StandardCharsets.UTF_8);
        });
    }

    /**
     * Percent-encodes everything but RFC 3986's unreserved characters, in UTF-8; "." and ".." entirely, as
     * they would otherwise be read as path steps.
     */
    static String encodeSegment(String text) {
        if (text.equals(".") || text.equals("..")) {
            return text.replace(".", "%2E");
        }
        StringBuilder out = new StringBuilder(text.length());
        for (byte b : text.getBytes(StandardCharsets.UTF_8)) {
            int c = b & 0xff;
            if (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '.'
                    || c == '_' || c == '~') {
                out.append((char) c);
            } else {
                out.append('%').append(Character.toUpperCase(Character.forDigit(c >> 4, 16)))
                        .append(Character.toUpperCase(Character.forDigit(c & 0xf, 16)));
            }
        }
        return out.toString();
    }
}
