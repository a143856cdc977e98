package io.tessera.router;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

/** Raw bytes to a loopback HTTP port, for requests no HTTP client library would send. */
final class RawHttp {

    /** What came back: everything read, and whether the server closed the connection before the timeout. */
    record Reply(String text, boolean closed) {
        int status() {
            if (!text.startsWith("HTTP/1.")) {
                return -1;
            }
            return Integer.parseInt(text.substring(9, 12));
        }

        String body() {
            int i = text.indexOf("\r\n\r\n");
            return i < 0 ? "" : text.substring(i + 4);
        }
    }

    private RawHttp() {
    }

    /**
     * Sends {@code request} and reads until the server closes the connection or {@code timeoutMillis}
     * pass without a byte.
     */
    static Reply exchange(int port, byte[] request, int timeoutMillis) throws IOException {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 2000);
            s.setSoTimeout(timeoutMillis);
            try {
                s.getOutputStream().write(request);
                s.getOutputStream().flush();
            } catch (IOException e) {
                // the server answered and closed before reading all of it; its answer may still be there
            }
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[4096];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    got.write(buf, 0, n);
                }
                return new Reply(got.toString(StandardCharsets.ISO_8859_1), true);
            } catch (SocketTimeoutException e) {
                return new Reply(got.toString(StandardCharsets.ISO_8859_1), false);
            } catch (IOException e) {
                // a reset after the answer: the server closed the connection
                return new Reply(got.toString(StandardCharsets.ISO_8859_1), true);
            }
        }
    }

    static Reply exchange(int port, String request, int timeoutMillis) throws IOException {
        return exchange(port, request.getBytes(StandardCharsets.ISO_8859_1), timeoutMillis);
    }
}
