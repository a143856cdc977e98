package io.tessera.core.model;

import io.tessera.core.gguf.GgufFile;
import io.tessera.core.gguf.GgufTensorInfo;
import io.tessera.core.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/** Copies of a GGUF file with some metadata changed or tensors added, for corruption tests. */
public final class GgufEdits {

    private GgufEdits() {
    }

    /**
     * Writes {@code dst}: the metadata of {@code src}, then {@code edit} (which may put, remove or
     * add tensors), then every tensor of {@code src}.
     */
    public static Path rewrite(Path src, Path dst, Consumer<GgufWriter> edit) throws IOException {
        try (GgufFile in = GgufFile.open(src)) {
            GgufWriter w = new GgufWriter().putAll(in.metadata());
            edit.accept(w);
            for (GgufTensorInfo t : in.tensorInfos()) {
                w.addRawTensor(t.name(), t.type(), t.dims(),
                        in.segment().asSlice(in.dataOffset() + t.offset(), t.byteSize()));
            }
            w.write(dst);
        }
        return dst;
    }
}
