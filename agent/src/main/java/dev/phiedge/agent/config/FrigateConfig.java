package dev.phiedge.agent.config;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;

/**
 * The optional top-level {@code frigate:} section: where the agent writes event descriptions back
 * (routes with {@code frigate_description: true}), through Frigate's HTTP API
 * {@code POST <url>/api/events/<id>/description}.
 *
 * @param url       Frigate's base URL, {@code http://HOST:PORT} (5000: Frigate's internal, unauthenticated
 *                  port; 8971: its authenticated one, which needs {@code token_file}), possibly with a path
 *                  prefix (a reverse proxy); no trailing '/'
 * @param tokenFile a file holding a bearer token (Frigate's JWT), sent as {@code Authorization: Bearer};
 *                  the token itself never appears in the configuration or in logs
 * @param timeout   the longest one request may take, connection included
 * @param retries   how many times a request that failed with a 5xx answer, a timeout or a connection error
 *                  is tried again (with exponential back-off); 0: tried once
 */
public record FrigateConfig(URI url, Optional<Path> tokenFile, Duration timeout, int retries) {

    public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(10);
    public static final int DEFAULT_RETRIES = 3;

    public FrigateConfig {
        Objects.requireNonNull(url, "url");
        Objects.requireNonNull(tokenFile, "tokenFile");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive, got " + timeout);
        }
        if (retries < 0) {
            throw new IllegalArgumentException("retries must be 0 or more, got " + retries);
        }
    }

    /**
     * The bearer token, read from {@link #tokenFile()} (surrounding whitespace and the final newline
     * removed); empty without a token file. The messages of the exceptions never contain the token.
     *
     * @throws IOException the file cannot be read, or holds no token, or more than a token (a bearer token
     *                     is one run of visible ASCII characters: an HTTP header cannot carry anything else)
     */
    public Optional<String> readToken() throws IOException {
        return tokenFile.isEmpty() ? Optional.empty() : Optional.of(readToken(tokenFile.get()));
    }

    /** The bearer token in {@code file}; see {@link #readToken()}. */
    static String readToken(Path file) throws IOException {
        if (Files.size(file) > MAX_TOKEN_BYTES) {
            throw new IOException(file + " is larger than a token (" + MAX_TOKEN_BYTES + " bytes at most)");
        }
        String token;
        try {
            token = Files.readString(file, StandardCharsets.UTF_8).strip();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IOException(file + " is not text (UTF-8): it should hold the bearer token");
        }
        if (token.isEmpty()) {
            throw new IOException(file + " is empty: it should hold the bearer token");
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c <= ' ' || c > '~') {
                throw new IOException(file + " does not hold one bearer token: character " + (i + 1)
                        + " is a space, a line break, a control or a non-ASCII character");
            }
        }
        return token;
    }

    /** A JWT is a few hundred bytes; 16 KiB is far beyond any bearer token. */
    static final int MAX_TOKEN_BYTES = 16 * 1024;
}
