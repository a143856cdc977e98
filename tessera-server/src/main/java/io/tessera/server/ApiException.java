package io.tessera.server;

/**
 * A request the server answers with an OpenAI error object: {@code {"error": {"message", "type",
 * "param", "code"}}} and an HTTP status.
 */
public final class ApiException extends RuntimeException {

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    public ApiException(int status, String type, String message, String param, String code) {
        super(message);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    public static ApiException badRequest(String message) {
        return new ApiException(400, "invalid_request_error", message, null, null);
    }

    public static ApiException badParam(String param, String message) {
        return new ApiException(400, "invalid_request_error", message, param, null);
    }

    public static ApiException notFound(String message, String code) {
        return new ApiException(404, "invalid_request_error", message, null, code);
    }

    public static ApiException forbidden(String message, String code) {
        return new ApiException(403, "invalid_request_error", message, null, code);
    }

    public static ApiException methodNotAllowed(String message) {
        return new ApiException(405, "invalid_request_error", message, null, "method_not_allowed");
    }

    public static ApiException unsupportedMediaType(String message) {
        return new ApiException(415, "invalid_request_error", message, null, "unsupported_media_type");
    }

    public static ApiException unauthorized(String message) {
        return new ApiException(401, "invalid_request_error", message, null, "invalid_api_key");
    }

    public static ApiException tooManyRequests(String message) {
        return new ApiException(429, "rate_limit_error", message, null, "rate_limit_exceeded");
    }

    public static ApiException tooLarge(String message) {
        return new ApiException(413, "invalid_request_error", message, null, "request_too_large");
    }

    public static ApiException unavailable(String message) {
        return new ApiException(503, "server_error", message, null, "server_shutting_down");
    }

    /**
     * The executor cannot run steps now (a cluster worker is down): a 503 that names nothing
     * internal; the executor logs which worker and where.
     */
    public static ApiException modelUnavailable() {
        return new ApiException(503, "server_error", "The model is temporarily unavailable: part of the cluster "
                + "that runs it is down. Retry later.", null, "model_unavailable");
    }

    /** The request is valid but this server, as configured, cannot serve it (501). */
    public static ApiException notImplemented(String message) {
        return new ApiException(501, "invalid_request_error", message, null, "not_implemented");
    }

    public static ApiException internal(String message) {
        return new ApiException(500, "server_error", message, null, null);
    }

    public int status() {
        return status;
    }

    public String type() {
        return type;
    }

    public String param() {
        return param;
    }

    public String code() {
        return code;
    }
}
