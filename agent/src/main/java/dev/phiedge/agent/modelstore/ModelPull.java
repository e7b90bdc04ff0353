package dev.phiedge.agent.modelstore;

import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.plan.KernelPlanner;
import dev.phiedge.runtime.gguf.GgufFile;

import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpHeaders;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code edge-agent model pull}: fetches a GGUF model into the models folder and makes it the current one,
 * the way a device needs it done.
 *
 * <ol>
 *   <li>The bytes go to {@code FILE.partial}; a run that finds one resumes it with an HTTP Range request
 *       ({@code If-Range} with the first response's ETag, so a file changed on the server starts afresh), and
 *       a cut connection is resumed the same way, {@code retries} times, before the pull gives up (the part
 *       stays for the next run).</li>
 *   <li>Before any byte is written, the free space must hold the rest of the file plus {@code minFree}.</li>
 *   <li>The SHA-256 of the whole file must equal {@code --sha256}, else the catalogue's pin, else the
 *       server's {@code X-Linked-Etag} (Hugging Face sends the LFS object's SHA-256 there); with none of them
 *       the pull stops unless told {@code --no-sha256}. A wrong digest deletes the download.</li>
 *   <li>The verified file is renamed to {@code FILE} and opened with the runtime as the agent would (a
 *       GGUF of a supported architecture with tensors it computes with).</li>
 *   <li>Only then {@code current.gguf} is switched to it: a new symbolic link renamed over the old one, so
 *       the link is never missing or half-written. The previous model file stays.</li>
 * </ol>
 * Progress goes to {@code out}: a bar redrawn in place on a terminal (bytes, rate, time left), a line every
 * 10 seconds otherwise (journal, log file).
 */
public final class ModelPull {
    /** The link the configurations point at ({@code model.path: .../models/current.gguf}). */
    public static final String CURRENT = "current.gguf";
    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");

    /** Why a pull stopped, in words for the user; the command prints it and exits 1. */
    public static final class PullException extends Exception {
        public PullException(String message) {
            super(message);
        }
    }

    /**
     * What to pull and how.
     *
     * @param source      a catalogue name or an http(s) URL
     * @param dir         the models folder
     * @param sha256      the expected SHA-256 (64 hex digits), or null
     * @param noSha256    accept a file whose digest cannot be known (no pin, no --sha256, no X-Linked-Etag)
     * @param minFree     bytes that must stay free on the models folder's disk after the download
     * @param retries     how many times a cut or failed transfer is resumed within this run
     * @param retryDelay  the first pause before resuming; it doubles each time, up to 30 s
     * @param stall       a transfer that receives nothing for this long is cut (and resumed)
     */
    public record Request(String source, Path dir, String sha256, boolean noSha256, long minFree, int retries, Duration retryDelay,
                          Duration stall) {}

    /**
     * @param model        the model file, in the models folder
     * @param previous     what current.gguf pointed at before, or null
     * @param sha256       the file's SHA-256 and where the expected value came from
     * @param bytes        its size
     * @param architecture its general.architecture
     * @param transferred  bytes received in this run (0 when the file was there already)
     * @param resumed      whether this run resumed a part (from an earlier run or after a cut)
     */
    public record Outcome(Path model, Path previous, String sha256, String digestSource, long bytes, String architecture,
                          long transferred, boolean resumed) {}

    private final HttpClient client;
    private final EnvironmentProxies proxies;
    private final PrintStream out;
    private final boolean terminal;

    /**
     * @param env      the environment, for HTTPS_PROXY, HTTP_PROXY and NO_PROXY
     * @param out      where progress and notes go
     * @param terminal whether {@code out} is a terminal (a bar redrawn in place) or not (a line every 10 s)
     */
    public ModelPull(Map<String, String> env, PrintStream out, boolean terminal) {
        this.proxies = EnvironmentProxies.from(env);
        HttpClient.Builder b = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(30)).proxy(proxies);
        if (proxies.authenticator() != null) {
            // the JDK turns Basic authentication off for HTTPS tunnels unless told otherwise; a proxy URL with a
            // user and password in HTTPS_PROXY means the user wants it (read when the client's classes load)
            if (System.getProperty("jdk.http.auth.tunneling.disabledSchemes") == null) {
                System.setProperty("jdk.http.auth.tunneling.disabledSchemes", "");
            }
            b.authenticator(proxies.authenticator());
        }
        this.client = b.build();
        this.out = out;
        this.terminal = terminal;
    }

    /** The file name of a URL: its last path segment, without the query. */
    public static String fileName(String url) {
        String path = URI.create(url).getPath();
        String name = path == null ? "" : path.substring(path.lastIndexOf('/') + 1);
        return name.isEmpty() ? "model.gguf" : name;
    }

    public Outcome pull(Request r) throws PullException {
        // --- what, where, and against which digest ---------------------------------------------------
        Optional<ModelCatalog.Entry> entry = ModelCatalog.find(r.source());
        String url;
        if (entry.isPresent()) {
            url = entry.get().url();
        } else if (r.source().startsWith("https://") || r.source().startsWith("http://")) {
            url = r.source();
        } else {
            throw new PullException("'" + r.source() + "' is neither a model of the catalogue nor an http(s) URL"
                    + " (edge-agent model list shows the catalogue)");
        }
        URI uri;
        try {
            uri = URI.create(url);
        } catch (IllegalArgumentException e) {
            throw new PullException("not a URL: " + url + " (" + e.getMessage() + ")");
        }
        String file = fileName(url);
        if (!file.endsWith(".gguf") || file.equals(CURRENT) || file.startsWith(".")) {
            throw new PullException("the URL does not name a .gguf file: " + url);
        }
        String given = r.sha256() == null ? null : r.sha256().toLowerCase(Locale.ROOT);
        if (given != null && !SHA256.matcher(given).matches()) throw new PullException("--sha256 needs 64 hex digits, got " + r.sha256());
        String pinned = entry.map(ModelCatalog.Entry::sha256).orElse(null);
        Path dir = r.dir();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new PullException("cannot create the models folder " + dir + ": " + reason(e));
        }
        if (!Files.isWritable(dir)) throw new PullException("the models folder " + dir + " is not writable (run as root or as its owner)");
        Path current = dir.resolve(CURRENT);
        if (Files.exists(current, LinkOption.NOFOLLOW_LINKS) && !Files.isSymbolicLink(current)) {
            throw new PullException(current + " is a file, not a link: move it away (the pull makes current.gguf a link to the model)");
        }
        Path previous = Files.isSymbolicLink(current) ? readLink(current) : null;
        Path target = dir.resolve(file);
        Path partial = dir.resolve(file + ".partial");
        Path meta = dir.resolve(file + ".partial.meta");
        out.println("pull " + (entry.isPresent() ? entry.get().name() + " (" + url + ")" : url) + " into " + dir + ", "
                + proxies.describe(uri));

        // --- a file that is there already and has the expected digest is not fetched again ------------
        String expectedUpFront = given != null ? given : pinned;
        if (expectedUpFront != null && Files.isRegularFile(target) && expectedUpFront.equals(hashOf(target))) {
            out.println(file + " is there already with the expected SHA-256");
            String arch = checkModel(target);
            switchCurrent(dir, current, file);
            return new Outcome(target, previous, expectedUpFront, given != null ? "--sha256" : "the catalogue", size(target), arch, 0, false);
        }

        // --- download into FILE.partial, resuming ----------------------------------------------------------
        Transfer t = new Transfer(uri, partial, meta, r);
        t.run();
        String actual = HexFormat.of().formatHex(t.digest.digest());

        // --- verify ------------------------------------------------------------------------------------
        String expected;
        String from;
        if (given != null) {
            expected = given;
            from = "--sha256";
        } else if (pinned != null) {
            expected = pinned;
            from = "the catalogue's pin";
        } else if (t.serverDigest != null) {
            expected = t.serverDigest;
            from = "the server's X-Linked-Etag";
        } else {
            expected = null;
            from = null;
        }
        String keep = previous != null ? "current.gguf still points at " + previous : "current.gguf was not made";
        if (expected == null) {
            if (!r.noSha256()) {
                throw new PullException("no SHA-256 to check " + file + " against (no pin in the catalogue, no --sha256, no X-Linked-Etag"
                        + " from the server): run again with --sha256 HEX (the download is kept as " + partial.getFileName()
                        + " and will not be fetched again), or with --no-sha256 to use it unchecked; " + keep);
            }
            out.println("warning: " + file + " is not checked against a SHA-256 (--no-sha256); its SHA-256 is " + actual);
            from = "not checked (--no-sha256)";
        } else if (!expected.equals(actual)) {
            delete(partial);
            delete(meta);
            String other = t.serverDigest != null && !t.serverDigest.equals(expected) ? "; the server's X-Linked-Etag says "
                    + t.serverDigest : "";
            throw new PullException("SHA-256 mismatch for " + file + ": expected " + expected + " (" + from + "), the download has "
                    + actual + other + ". The download was deleted; " + keep);
        }
        try {
            moveAtomically(partial, target);
            delete(meta);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rw-r--r--"));
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: its default permissions stay
        } catch (IOException e) {
            throw new PullException("cannot rename " + partial + " to " + target + ": " + reason(e));
        }
        giveToFolderOwner(dir, target);

        // --- open it as the agent would, then switch ------------------------------------------------------
        String arch = checkModel(target);
        switchCurrent(dir, current, file);
        return new Outcome(target, previous, actual, from, size(target), arch, t.transferred, t.resumed);
    }

    /** Opens the model with the runtime (a tiny context, one thread): a GGUF of a supported architecture. */
    private String checkModel(Path model) throws PullException {
        String arch;
        try (GgufFile f = GgufFile.open(model)) {
            arch = f.has("general.architecture") ? f.getString("general.architecture") : "(none)";
        } catch (IOException | RuntimeException e) {
            throw new PullException(model.getFileName() + " is not a GGUF model file: " + reason(e) + "; current.gguf was not changed");
        }
        try (LanguageModel lm = LanguageModel.load(model, 16, 1, KernelPlanner.rulesOnly())) {
            out.println("opened " + model.getFileName() + " with the runtime: architecture " + arch);
        } catch (IOException | RuntimeException e) {
            throw new PullException(model.getFileName() + " is not a model this runtime runs (architecture " + arch + "): " + reason(e)
                    + "; it stays in " + model.getParent() + ", current.gguf was not changed");
        }
        return arch;
    }

    /** current.gguf -> file: a new link renamed over the old one (rename(2) replaces it atomically). */
    private void switchCurrent(Path dir, Path current, String file) throws PullException {
        Path tmp = dir.resolve(".current.gguf." + ProcessHandle.current().pid() + ".tmp");
        try {
            Files.deleteIfExists(tmp);
            Files.createSymbolicLink(tmp, Path.of(file));
            giveToFolderOwner(dir, tmp);
            Files.move(tmp, current, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | UnsupportedOperationException e) {
            delete(tmp);
            throw new PullException("cannot point " + current + " at " + file + ": " + reason(e));
        }
    }

    private static void moveAtomically(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Run as root into a folder the service owns (/var/lib/edge-agent/models): the new file and link go to its owner. */
    private static void giveToFolderOwner(Path dir, Path file) {
        try {
            PosixFileAttributes d = Files.readAttributes(dir, PosixFileAttributes.class);
            PosixFileAttributeView v = Files.getFileAttributeView(file, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS);
            PosixFileAttributes f = v.readAttributes();
            if (!f.owner().equals(d.owner())) v.setOwner(d.owner());
            if (!f.group().equals(d.group())) v.setGroup(d.group());
        } catch (IOException | UnsupportedOperationException | SecurityException e) {
            // not root, or not POSIX: the file stays the caller's, readable by all (0644)
        }
    }

    private static Path readLink(Path link) {
        try {
            return Files.readSymbolicLink(link);
        } catch (IOException e) {
            return null;
        }
    }

    private static long size(Path p) {
        try {
            return Files.size(p);
        } catch (IOException e) {
            return -1;
        }
    }

    private static void delete(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // left behind; harmless
        }
    }

    private static String reason(Throwable e) {
        String m = e.getMessage();
        return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
    }

    private static String hashOf(Path file) throws PullException {
        MessageDigest md = sha256();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            update(md, ch, Long.MAX_VALUE);
        } catch (IOException e) {
            throw new PullException("cannot read " + file + ": " + reason(e));
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static long update(MessageDigest md, FileChannel ch, long limit) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(1 << 20);
        long done = 0;
        while (done < limit) {
            buf.clear();
            if (limit - done < buf.capacity()) buf.limit((int) (limit - done));
            int n = ch.read(buf);
            if (n < 0) break;
            buf.flip();
            md.update(buf);
            done += n;
        }
        return done;
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** "1.23 GB". */
    static String bytes(double n) {
        if (n >= 1e9) return String.format(Locale.ROOT, "%.2f GB", n / 1e9);
        if (n >= 1e6) return String.format(Locale.ROOT, "%.1f MB", n / 1e6);
        if (n >= 1e3) return String.format(Locale.ROOT, "%.0f kB", n / 1e3);
        return String.format(Locale.ROOT, "%.0f B", n);
    }

    /** "1 h 02 min", "3 min 05 s", "42 s". */
    static String duration(double seconds) {
        long s = Math.round(seconds);
        if (s >= 3600) return String.format(Locale.ROOT, "%d h %02d min", s / 3600, s % 3600 / 60);
        if (s >= 60) return String.format(Locale.ROOT, "%d min %02d s", s / 60, s % 60);
        return s + " s";
    }

    /** One file's transfer into FILE.partial, over as many requests as resuming takes. */
    private final class Transfer {
        final URI uri;
        final Path partial;
        final Path meta;
        final Request r;
        final MessageDigest digest = sha256();
        /** Bytes of the part that {@link #digest} has seen. */
        long hashed;
        long transferred;
        boolean resumed;
        String serverDigest;
        long total = -1;

        Transfer(URI uri, Path partial, Path meta, Request r) {
            this.uri = uri;
            this.partial = partial;
            this.meta = meta;
            this.r = r;
        }

        void run() throws PullException {
            Properties saved = loadMeta();
            if (!uri.toString().equals(saved.getProperty("url"))) {
                delete(partial); // a part of something else
                saved = new Properties();
            }
            int attempt = 0;
            Duration delay = r.retryDelay();
            while (true) {
                try {
                    if (once(saved)) return;
                    // the server refused the range: start afresh, once
                    delete(partial);
                    saved = new Properties();
                    digest.reset();
                    hashed = 0;
                    continue;
                } catch (Cut e) {
                    if (attempt++ >= r.retries()) {
                        long have = size(partial);
                        throw new PullException("the download stopped at " + bytes(have) + (total > 0 ? " of " + bytes(total) : "") + ": "
                                + e.getMessage() + ". The part is kept as " + partial + ": run the same command again to resume it");
                    }
                    out.println((terminal ? "\n" : "") + "the transfer stopped at " + bytes(size(partial))
                            + (total > 0 ? " of " + bytes(total) : "") + " (" + e.getMessage() + "); resuming in "
                            + duration(delay.toMillis() / 1e3) + " (" + attempt + " of " + r.retries() + ")");
                    try {
                        Thread.sleep(delay.toMillis());
                    } catch (InterruptedException ie) {
                        Thread.currentThread().interrupt();
                        throw new PullException("interrupted; the part is kept as " + partial);
                    }
                    delay = delay.multipliedBy(2).compareTo(Duration.ofSeconds(30)) > 0 ? Duration.ofSeconds(30) : delay.multipliedBy(2);
                    saved = loadMeta();
                }
            }
        }

        /** A transfer that may be resumed: a cut connection, a stall, a 5xx. */
        final class Cut extends Exception {
            Cut(String message) {
                super(message);
            }
        }

        /** One request; true when the part is complete, false when the server refused the range (start afresh). */
        boolean once(Properties saved) throws PullException, Cut {
            long offset = size(partial);
            if (offset < 0) offset = 0;
            if (hashed != offset) { // the part from an earlier run (or a different length): hash it first
                digest.reset();
                try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.READ)) {
                    hashed = update(digest, ch, offset);
                } catch (IOException e) {
                    if (offset > 0) throw new PullException("cannot read " + partial + ": " + reason(e));
                    hashed = 0;
                }
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(uri).GET().header("User-Agent", "edge-agent (Phi Edge Agent model pull)");
            if (offset > 0) {
                b.header("Range", "bytes=" + offset + "-");
                String validator = saved.getProperty("etag", saved.getProperty("last-modified"));
                if (validator != null && !validator.startsWith("W/")) b.header("If-Range", validator);
                resumed = true;
            }
            HttpResponse<InputStream> response;
            try {
                response = client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
            } catch (IOException e) {
                throw new Cut("cannot connect: " + reason(e));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PullException("interrupted");
            }
            int status = response.statusCode();
            findServerDigest(response);
            try (InputStream body = response.body()) {
                if (status == 404 || status == 410) {
                    throw new PullException("not found (HTTP " + status + "): " + uri + " (is the URL right? edge-agent model list shows the"
                            + " catalogue)");
                }
                if (status == 401 || status == 403) {
                    throw new PullException("refused (HTTP " + status + "): " + uri + " (a gated model needs a login: download it"
                            + " yourself and pull it from a local URL, or pick another)");
                }
                if (status == 416 && offset > 0) {
                    long complete = totalOf(response.headers().firstValue("Content-Range").orElse(""));
                    if (complete == offset) {
                        total = offset;
                        out.println(partial.getFileName() + " is complete already (" + bytes(offset) + ")");
                        return true;
                    }
                    out.println("the server refused to resume " + partial.getFileName() + " (HTTP 416): starting again");
                    return false;
                }
                if (status >= 500) throw new Cut("the server answered HTTP " + status);
                if (status != 200 && status != 206) throw new PullException("unexpected answer HTTP " + status + " from " + uri);
                long start = 0;
                if (status == 206) {
                    Matcher m = CONTENT_RANGE.matcher(response.headers().firstValue("Content-Range").orElse(""));
                    if (!m.matches() || Long.parseLong(m.group(1)) != offset) {
                        out.println("the server resumed at another offset (" + response.headers().firstValue("Content-Range").orElse("?")
                                + "): starting again");
                        return false;
                    }
                    start = offset;
                    total = m.group(3).equals("*") ? -1 : Long.parseLong(m.group(3));
                } else {
                    if (offset > 0) out.println("the server sent the whole file (no resume" + (saved.containsKey("etag")
                            ? ", or it changed since the part was fetched" : "") + "): starting again");
                    long length = response.headers().firstValueAsLong("Content-Length").orElse(-1);
                    total = length;
                    digest.reset();
                    hashed = 0;
                    resumed = false;
                }
                saveMeta(response.headers());
                checkSpace(total < 0 ? -1 : total - start);
                copy(body, start);
                return true;
            } catch (IOException e) {
                // closing the body of a refused answer
                throw new Cut(reason(e));
            }
        }

        /** The body appended to the part from {@code start} (0: the part is truncated first), hashed as it goes. */
        private void copy(InputStream body, long start) throws Cut, PullException {
            AtomicLong lastData = new AtomicLong(System.nanoTime());
            ScheduledExecutorService watchdog = Executors.newSingleThreadScheduledExecutor(run -> {
                Thread th = new Thread(run, "model-pull-watchdog");
                th.setDaemon(true);
                return th;
            });
            long stallNanos = r.stall().toNanos();
            boolean[] stalled = {false};
            watchdog.scheduleAtFixedRate(() -> {
                if (System.nanoTime() - lastData.get() > stallNanos) {
                    stalled[0] = true;
                    try {
                        body.close();
                    } catch (IOException ignored) {
                        // the reader sees the closed stream
                    }
                }
            }, 1, 1, TimeUnit.SECONDS);
            Progress progress = new Progress(out, terminal, start, total);
            long have = start;
            try (FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                ch.truncate(start);
                ch.position(start);
                byte[] buf = new byte[1 << 16];
                ByteBuffer bb = ByteBuffer.wrap(buf);
                while (true) {
                    int n;
                    try {
                        n = body.read(buf);
                    } catch (IOException e) {
                        throw new Cut(stalled[0] ? "nothing arrived for " + duration(r.stall().toSeconds()) : reason(e));
                    }
                    if (n < 0) break;
                    lastData.set(System.nanoTime());
                    bb.clear().limit(n);
                    while (bb.hasRemaining()) ch.write(bb);
                    digest.update(buf, 0, n);
                    have += n;
                    hashed = have;
                    transferred += n;
                    progress.update(have);
                }
                ch.force(false);
            } catch (IOException e) {
                String why = reason(e);
                if (why.contains("No space left")) {
                    throw new PullException("the disk of " + partial.getParent() + " is full (" + why + ") at " + bytes(have)
                            + ": free some space, then run the same command again to resume");
                }
                throw new PullException("cannot write " + partial + ": " + why);
            } finally {
                watchdog.shutdownNow();
                progress.end();
            }
            if (stalled[0]) throw new Cut("nothing arrived for " + duration(r.stall().toSeconds()));
            if (total >= 0 && have != total) throw new Cut("the connection closed at " + bytes(have) + " of " + bytes(total));
            total = have;
        }

        /** The rest must fit, with {@code minFree} to spare. */
        private void checkSpace(long remaining) throws PullException {
            if (remaining < 0) {
                out.println("warning: the server did not say how large the file is; the free space is not checked first");
                return;
            }
            try {
                FileStore store = Files.getFileStore(partial.getParent());
                long usable = store.getUsableSpace();
                if (usable - remaining < r.minFree()) {
                    throw new PullException("not enough free space in " + partial.getParent() + ": the model needs " + bytes(remaining)
                            + " more, " + bytes(usable) + " is free and " + bytes(r.minFree()) + " must stay free (--min-free)");
                }
            } catch (IOException e) {
                out.println("warning: cannot read the free space of " + partial.getParent() + ": " + reason(e));
            }
        }

        /** X-Linked-Etag of this answer or of a redirect before it: Hugging Face's SHA-256 of the LFS object. */
        private void findServerDigest(HttpResponse<?> response) {
            for (HttpResponse<?> h = response; h != null; h = h.previousResponse().orElse(null)) {
                Optional<String> v = h.headers().firstValue("X-Linked-Etag");
                if (v.isPresent()) {
                    String d = v.get().strip().replaceFirst("^W/", "").replace("\"", "").toLowerCase(Locale.ROOT);
                    if (SHA256.matcher(d).matches()) {
                        serverDigest = d;
                        return;
                    }
                }
            }
        }

        private long totalOf(String contentRange) {
            int slash = contentRange.lastIndexOf('/');
            try {
                return slash < 0 ? -1 : Long.parseLong(contentRange.substring(slash + 1).strip());
            } catch (NumberFormatException e) {
                return -1;
            }
        }

        private Properties loadMeta() {
            Properties p = new Properties();
            if (Files.isRegularFile(meta)) {
                try (var reader = Files.newBufferedReader(meta, StandardCharsets.UTF_8)) {
                    p.load(reader);
                } catch (IOException e) {
                    // no validator: the resume goes without If-Range
                }
            }
            return p;
        }

        private void saveMeta(HttpHeaders h) {
            Properties p = new Properties();
            p.setProperty("url", uri.toString());
            h.firstValue("ETag").ifPresent(v -> p.setProperty("etag", v));
            h.firstValue("Last-Modified").ifPresent(v -> p.setProperty("last-modified", v));
            if (serverDigest != null) p.setProperty("x-linked-etag", serverDigest);
            try (var writer = Files.newBufferedWriter(meta, StandardCharsets.UTF_8)) {
                p.store(writer, "edge-agent model pull: where " + partial.getFileName() + " comes from");
            } catch (IOException e) {
                // a later resume goes without If-Range
            }
        }
    }

    /** Bytes, rate and time left: a bar redrawn in place on a terminal, a line every 10 s otherwise. */
    static final class Progress {
        private final PrintStream out;
        private final boolean terminal;
        private final long start;
        private final long total;
        private final long t0 = System.nanoTime();
        private long lastPrint;
        private long have;
        private boolean drawn;

        Progress(PrintStream out, boolean terminal, long start, long total) {
            this.out = out;
            this.terminal = terminal;
            this.start = start;
            this.total = total;
            this.have = start;
            this.lastPrint = t0;
        }

        void update(long have) {
            this.have = have;
            long now = System.nanoTime();
            if (now - lastPrint < (terminal ? 200_000_000L : 10_000_000_000L)) return;
            lastPrint = now;
            print(now);
        }

        private void print(long now) {
            double seconds = (now - t0) / 1e9;
            double rate = seconds > 0 ? (have - start) / seconds : 0;
            String left = total > 0 && rate > 0 ? duration((total - have) / rate) : "?";
            if (terminal) {
                int width = 30;
                int filled = total > 0 ? (int) (width * have / total) : 0;
                out.print(String.format(Locale.ROOT, "\r[%s%s] %s / %s %3s  %s/s  %s left   ", "#".repeat(filled), ".".repeat(width - filled),
                        bytes(have), total > 0 ? bytes(total) : "?", total > 0 ? (100 * have / total) + "%" : "", bytes(rate), left));
                out.flush();
                drawn = true;
            } else {
                out.println(String.format(Locale.ROOT, "downloaded %s%s at %s/s, %s left", bytes(have),
                        total > 0 ? " of " + bytes(total) + " (" + (100 * have / total) + "%)" : "", bytes(rate), left));
            }
        }

        void end() {
            print(System.nanoTime());
            if (terminal && drawn) out.println();
        }
    }
}
