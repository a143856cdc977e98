package io.tessera.core.format;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A model file is corrupt, truncated, or uses something Tessera does not support. The message
 * always names the file, the field that is wrong and why, e.g. {@code stories.gguf: tensor
 * 'blk.0.attn_q.weight' offset: 123456 + 8192 bytes lies past the end of the file (100000 bytes)},
 * so that a user can tell a bad download from a bug.
 *
 * <p>Field and reason often quote the file (a key, a string value), so they are kept with control
 * characters escaped ({@link SafeText#escape}): printing the message never lets the file drive the
 * terminal.
 */
public class ModelFormatException extends IOException {

    private final Path file;
    private final String field;
    private final String reason;

    public ModelFormatException(Path file, String field, String reason) {
        super(message(file, field, reason));
        this.file = file;
        this.field = field == null ? null : SafeText.escape(field);
        this.reason = SafeText.escape(reason);
    }

    public ModelFormatException(Path file, String field, String reason, Throwable cause) {
        this(file, field, reason);
        initCause(cause);
    }

    private static String message(Path file, String field, String reason) {
        Path name = file == null ? null : file.getFileName();
        String where = SafeText.escape(name == null ? String.valueOf(file) : name.toString());
        return field == null || field.isEmpty() ? where + ": " + SafeText.escape(reason)
                : where + ": " + SafeText.escape(field) + ": " + SafeText.escape(reason);
    }

    /** The file that is wrong. */
    public Path file() {
        return file;
    }

    /** The field that is wrong, e.g. {@code tensor 'output.weight' offset}; may be null for the file as a whole. */
    public String field() {
        return field;
    }

    /** What is wrong with it. */
    public String reason() {
        return reason;
    }
}
