package dev.phiedge.agent.tls;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * Builds a TLS socket factory from the PEM files brokers and their tooling use (mosquitto, openssl),
 * so a device needs no Java keystore. Private keys must be PKCS#8 ("BEGIN PRIVATE KEY"); an older
 * PKCS#1 key is refused with the openssl command that converts it. The configuration check reads the
 * files with {@link #certificates} and {@link #privateKey}, so such a key is reported before the agent starts.
 */
public final class PemTls {
    private PemTls() {}

    public static SSLSocketFactory socketFactory(TlsConfig tls) throws IOException, GeneralSecurityException {
        TrustManagerFactory trust = null;
        if (tls.ca().isPresent()) {
            KeyStore trustStore = KeyStore.getInstance(KeyStore.getDefaultType());
            trustStore.load(null, null);
            List<Certificate> cas = certificates(tls.ca().get());
            for (int i = 0; i < cas.size(); i++) {
                trustStore.setCertificateEntry("ca-" + i, cas.get(i));
            }
            trust = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            trust.init(trustStore);
        }
        KeyManagerFactory keys = null;
        if (tls.cert().isPresent() && tls.key().isPresent()) {
            KeyStore keyStore = KeyStore.getInstance(KeyStore.getDefaultType());
            keyStore.load(null, null);
            char[] none = new char[0];
            keyStore.setKeyEntry("client", privateKey(tls.key().get()), none,
                    certificates(tls.cert().get()).toArray(Certificate[]::new));
            keys = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            keys.init(keyStore, none);
        }
        SSLContext context = SSLContext.getInstance("TLS");
        context.init(keys == null ? null : keys.getKeyManagers(), trust == null ? null : trust.getTrustManagers(), null);
        return context.getSocketFactory();
    }

    /** The X.509 certificates of a PEM file; none is an error. */
    public static List<Certificate> certificates(Path file) throws IOException, GeneralSecurityException {
        try (InputStream in = Files.newInputStream(file)) {
            List<Certificate> out = new ArrayList<>(CertificateFactory.getInstance("X.509").generateCertificates(in));
            if (out.isEmpty()) {
                throw new GeneralSecurityException("no certificate in " + file);
            }
            return out;
        }
    }

    /** The unencrypted PKCS#8 private key (RSA, EC or Ed25519) of a PEM file. */
    public static PrivateKey privateKey(Path file) throws IOException, GeneralSecurityException {
        String pem = Files.readString(file);
        if (pem.contains("BEGIN RSA PRIVATE KEY") || pem.contains("BEGIN EC PRIVATE KEY")) {
            throw new GeneralSecurityException(file + " is a PKCS#1/SEC1 key; convert it with "
                    + "'openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pk8'");
        }
        int begin = pem.indexOf("-----BEGIN PRIVATE KEY-----");
        int end = pem.indexOf("-----END PRIVATE KEY-----");
        if (begin < 0 || end < begin) {
            throw new GeneralSecurityException(file + " holds no unencrypted PKCS#8 private key");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.substring(begin + 27, end));
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(der);
        GeneralSecurityException last = null;
        for (String algorithm : List.of("RSA", "EC", "Ed25519")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                last = e;
            }
        }
        throw new GeneralSecurityException(file + ": unsupported key algorithm", last);
    }
}
