package io.tessera.server;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;

/**
 * DNS rebinding defence of a keyless server bound to loopback: a web page that makes its own name
 * resolve to 127.0.0.1 still sends that name in {@code Host}, so only loopback names are answered.
 * A server with an API key, or bound to another address, answers any {@code Host}.
 */
final class HostFilter {

    private final boolean active;

    HostFilter(ServerConfig config) {
        this.active = config.apiKey() == null && isLoopback(config.host());
    }

    boolean active() {
        return active;
    }

    /** Whether a request with this {@code Host} header (null when absent) is answered. */
    boolean allows(String hostHeader) {
        if (!active || hostHeader == null) {
            return true;
        }
        return isLoopbackName(stripPort(hostHeader.trim()));
    }

    static boolean isLoopback(String bindHost) {
        String h = bindHost.startsWith("[") && bindHost.endsWith("]")
                ? bindHost.substring(1, bindHost.length() - 1) : bindHost;
        if (h.equalsIgnoreCase("localhost")) {
            return true;
        }
        if (!isAddressLiteral(h)) {
            return false;
        }
        try {
            return InetAddress.getByName(h).isLoopbackAddress(); // a literal: no name lookup
        } catch (UnknownHostException e) {
            return false;
        }
    }

    private static boolean isLoopbackName(String host) {
        String h = host.toLowerCase(Locale.ROOT);
        if (h.equals("localhost") || h.endsWith(".localhost") || h.equals("[::1]")) {
            return true;
        }
        // 127.0.0.0/8 written as a dotted quad, nothing else (no names that merely start with 127.)
        return h.matches("127\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}");
    }

    private static boolean isAddressLiteral(String h) {
        return h.contains(":") || h.matches("\\d{1,3}(\\.\\d{1,3}){3}");
    }

    private static String stripPort(String host) {
        if (host.startsWith("[")) {
            int end = host.indexOf(']');
            return end < 0 ? host : host.substring(0, end + 1);
        }
        int colon = host.lastIndexOf(':');
        return colon < 0 ? host : host.substring(0, colon);
    }
}
