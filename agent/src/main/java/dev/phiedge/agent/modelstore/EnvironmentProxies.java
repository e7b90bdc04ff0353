package dev.phiedge.agent.modelstore;

import java.io.IOException;
import java.net.Authenticator;
import java.net.InetSocketAddress;
import java.net.PasswordAuthentication;
import java.net.Proxy;
import java.net.ProxySelector;
import java.net.SocketAddress;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * The proxies that the environment names, as curl and apt read them: {@code HTTPS_PROXY} (or
 * {@code https_proxy}) for https URLs, {@code HTTP_PROXY} ({@code http_proxy}) for http URLs,
 * {@code NO_PROXY} ({@code no_proxy}): hosts, domain suffixes ({@code .example.com} or
 * {@code example.com}), or {@code *}, that go direct. A proxy is {@code http://[USER:PASSWORD@]HOST[:PORT]}
 * (port 80 if left out; {@code HOST:PORT} alone also works). Java's own ProxySelector reads only system
 * properties, so an edge device's usual environment setting would otherwise be ignored.
 */
public final class EnvironmentProxies extends ProxySelector {
    private final Proxy https;
    private final Proxy http;
    private final List<String> noProxy;
    private final Optional<PasswordAuthentication> httpsCredentials;
    private final Optional<PasswordAuthentication> httpCredentials;

    private EnvironmentProxies(Map<String, String> env) {
        String httpsValue = value(env, "HTTPS_PROXY");
        String httpValue = value(env, "HTTP_PROXY");
        https = proxy(httpsValue);
        http = proxy(httpValue);
        httpsCredentials = credentials(httpsValue);
        httpCredentials = credentials(httpValue);
        List<String> hosts = new ArrayList<>();
        String no = value(env, "NO_PROXY");
        if (no != null) {
            for (String h : no.split(",")) {
                if (!h.isBlank()) hosts.add(h.strip().toLowerCase(Locale.ROOT));
            }
        }
        noProxy = List.copyOf(hosts);
    }

    /** The proxies of {@code env} (normally {@link System#getenv()}). */
    public static EnvironmentProxies from(Map<String, String> env) {
        return new EnvironmentProxies(env);
    }

    private static String value(Map<String, String> env, String name) {
        String v = env.get(name);
        if (v == null || v.isBlank()) v = env.get(name.toLowerCase(Locale.ROOT));
        return v == null || v.isBlank() ? null : v.strip();
    }

    private static URI parse(String value) {
        return URI.create(value.contains("://") ? value : "http://" + value);
    }

    private static Proxy proxy(String value) {
        if (value == null) return null;
        URI uri = parse(value);
        if (uri.getHost() == null) throw new IllegalArgumentException("a proxy in the environment is not http://HOST[:PORT]: " + value);
        return new Proxy(Proxy.Type.HTTP, InetSocketAddress.createUnresolved(uri.getHost(), uri.getPort() > 0 ? uri.getPort() : 80));
    }

    private static Optional<PasswordAuthentication> credentials(String value) {
        if (value == null) return Optional.empty();
        String user = parse(value).getUserInfo();
        if (user == null) return Optional.empty();
        int colon = user.indexOf(':');
        return Optional.of(new PasswordAuthentication(colon < 0 ? user : user.substring(0, colon),
                (colon < 0 ? "" : user.substring(colon + 1)).toCharArray()));
    }

    /** The proxy for {@code uri}, or empty for a direct connection. */
    public Optional<Proxy> proxyFor(URI uri) {
        String host = uri.getHost() == null ? "" : uri.getHost().toLowerCase(Locale.ROOT);
        for (String h : noProxy) {
            if (h.equals("*")) return Optional.empty();
            String suffix = h.startsWith(".") ? h : "." + h;
            if (host.equals(h.startsWith(".") ? h.substring(1) : h) || host.endsWith(suffix)) return Optional.empty();
        }
        Proxy p = "https".equalsIgnoreCase(uri.getScheme()) ? https : "http".equalsIgnoreCase(uri.getScheme()) ? http : null;
        return Optional.ofNullable(p);
    }

    @Override
    public List<Proxy> select(URI uri) {
        return List.of(proxyFor(uri).orElse(Proxy.NO_PROXY));
    }

    @Override
    public void connectFailed(URI uri, SocketAddress sa, IOException ioe) {
        // the request fails with the connection's own error
    }

    /** Answers a proxy's 407 with the user and password of its URL, where it has them; else null. */
    public Authenticator authenticator() {
        if (httpsCredentials.isEmpty() && httpCredentials.isEmpty()) return null;
        return new Authenticator() {
            @Override
            protected PasswordAuthentication getPasswordAuthentication() {
                if (getRequestorType() != RequestorType.PROXY) return null;
                return ("https".equalsIgnoreCase(getRequestingURL().getProtocol()) ? httpsCredentials : httpCredentials)
                        .or(() -> httpsCredentials).orElse(null);
            }
        };
    }

    /** Whether any proxy is set (for the pull's first line). */
    public String describe(URI uri) {
        return proxyFor(uri).map(p -> "through the proxy " + p.address()).orElse("direct");
    }
}
