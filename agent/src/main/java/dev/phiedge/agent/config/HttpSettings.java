package dev.phiedge.agent.config;

import java.net.InetSocketAddress;

/**
 * Where the metrics and health endpoint listens: the configuration's {@code http: {listen: "HOST:PORT"}}.
 * The endpoint is opt-in; {@link #defaults()} is the address used when the section names none
 * ({@value #DEFAULT_HOST}:{@value #DEFAULT_PORT}, loopback only: the endpoint has no authentication).
 *
 * @param host a host name, an IPv4 address, or an IPv6 address without brackets ({@code ::1})
 * @param port 1 to 65535; 0 (any free port) is accepted here for tests, but not by {@link #parse}
 */
public record HttpSettings(String host, int port) {

    public static final String DEFAULT_HOST = "127.0.0.1";
    /** The default port (the one OpenTelemetry's Prometheus exporter uses). */
    public static final int DEFAULT_PORT = 9464;

    public HttpSettings {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("the HTTP host must not be empty");
        }
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("the HTTP port must be 1 to 65535, got " + port);
        }
    }

    /** {@value #DEFAULT_HOST}:{@value #DEFAULT_PORT}. */
    public static HttpSettings defaults() {
        return new HttpSettings(DEFAULT_HOST, DEFAULT_PORT);
    }

    /**
     * Reads {@code HOST:PORT}: {@code 127.0.0.1:9464}, {@code 0.0.0.0:9464} (every IPv4 interface),
     * {@code localhost:9464}, {@code [::1]:9464}, {@code [::]:9464} (every interface). An IPv6 address
     * must be in brackets, since its colons would otherwise be read as the port's.
     *
     * @throws IllegalArgumentException with a message that says what is wrong and shows the form
     */
    public static HttpSettings parse(String listen) {
        String example = " (expected HOST:PORT, e.g. 127.0.0.1:9464 or [::1]:9464)";
        if (listen == null || listen.isBlank()) {
            throw new IllegalArgumentException("the listen address is empty" + example);
        }
        String text = listen.strip();
        if (text.contains("://")) {
            throw new IllegalArgumentException("'" + text + "': give HOST:PORT without a scheme or path" + example);
        }
        String host;
        String portText;
        if (text.startsWith("[")) {
            int close = text.indexOf(']');
            if (close < 0) {
                throw new IllegalArgumentException("'" + text + "' opens '[' without a closing ']'" + example);
            }
            host = text.substring(1, close);
            if (host.isEmpty() || !host.contains(":") || !host.matches("[0-9A-Fa-f:.]+(%[A-Za-z0-9_.-]+)?")) {
                throw new IllegalArgumentException("'" + host + "' in brackets is not an IPv6 address" + example);
            }
            String rest = text.substring(close + 1);
            if (!rest.startsWith(":")) {
                throw new IllegalArgumentException("'" + text + "' has no port after ']'" + example);
            }
            portText = rest.substring(1);
        } else {
            int colon = text.lastIndexOf(':');
            if (colon < 0) {
                throw new IllegalArgumentException("'" + text + "' has no port" + example);
            }
            host = text.substring(0, colon);
            portText = text.substring(colon + 1);
            if (host.contains(":")) {
                throw new IllegalArgumentException("'" + text + "': an IPv6 address must be in brackets, as in [" + host
                        + "]:" + portText);
            }
            if (host.isEmpty()) {
                throw new IllegalArgumentException("'" + text + "' has no host; use 127.0.0.1 for this machine only, "
                        + "0.0.0.0 for every IPv4 interface or [::] for every interface");
            }
            if (!host.matches("[A-Za-z0-9._-]+")) {
                throw new IllegalArgumentException("'" + host + "' is not a host name or an IP address" + example);
            }
        }
        if (!portText.matches("[0-9]{1,5}")) {
            throw new IllegalArgumentException("the port '" + portText + "' is not a number" + example);
        }
        int port = Integer.parseInt(portText);
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("the port must be 1 to 65535, got " + port);
        }
        return new HttpSettings(host, port);
    }

    /** The address to bind (the host is resolved here, at start). */
    public InetSocketAddress address() {
        return new InetSocketAddress(host, port);
    }

    /** {@code HOST:PORT}, with an IPv6 address in brackets: what {@link #parse} reads back. */
    public String listen() {
        return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
    }

    @Override
    public String toString() {
        return listen();
    }
}
