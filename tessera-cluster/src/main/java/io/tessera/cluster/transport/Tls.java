package io.tessera.cluster.transport;

import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.TrustManagerFactory;

/**
 * Optional TLS on cluster connections: every process of the cluster is given the same PKCS12
 * keystore (a key and its certificate). Servers present that certificate; clients trust only it.
 * The connection is then encrypted and the server authenticated; the shared token still
 * authenticates the client. Configured by the system properties {@code tessera.cluster.tls.keystore}
 * and {@code tessera.cluster.tls.password}, else the environment variables
 * {@code TESSERA_CLUSTER_TLS_KEYSTORE} and {@code TESSERA_CLUSTER_TLS_PASSWORD} (which worker
 * processes started by a coordinator inherit).
 */
public record Tls(SslContext server, SslContext client) {

    public static Tls load(Path keystore, char[] password) throws IOException {
        try (InputStream in = Files.newInputStream(keystore)) {
            KeyStore ks = KeyStore.getInstance("PKCS12");
            ks.load(in, password);
            KeyManagerFactory kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
            kmf.init(ks, password);
            TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
            tmf.init(ks);
            return new Tls(SslContextBuilder.forServer(kmf).build(), SslContextBuilder.forClient().trustManager(tmf)
                    .build());
        } catch (GeneralSecurityException e) {
            throw new IOException("cannot use the cluster TLS keystore " + keystore + ": " + e.getMessage(), e);
        }
    }

    /** The configured TLS, or null when none is configured. */
    public static Tls fromEnvironment() {
        String path = System.getProperty("tessera.cluster.tls.keystore", System.getenv("TESSERA_CLUSTER_TLS_KEYSTORE"));
        if (path == null || path.isBlank()) {
            return null;
        }
        String pw = System.getProperty("tessera.cluster.tls.password", System.getenv("TESSERA_CLUSTER_TLS_PASSWORD"));
        try {
            return load(Path.of(path), pw == null ? new char[0] : pw.toCharArray());
        } catch (IOException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }
}
