package io.tessera.core.format;

import java.io.IOException;
import java.nio.file.Path;

/** A model file that is corrupt or uses something Tessera does not support, naming the file and field. */
public class ModelFormatException extends IOException {

    public ModelFormatException(Path file, String field, String reason) {
        super(file.getFileName() + ": " + field + ": " + reason);
    }
}
