package dev.phiedge.agent.tls;

import java.nio.file.Path;
import java.util.Optional;

/**
 * PEM files for a TLS connection to the broker.
 *
 * @param ca   CA certificate(s) that sign the broker's certificate; absent means the JVM's trust store
 * @param cert client certificate chain, for brokers that require client certificates
 * @param key  PKCS#8 private key of the client certificate
 */
public record TlsConfig(Optional<Path> ca, Optional<Path> cert, Optional<Path> key) {}
