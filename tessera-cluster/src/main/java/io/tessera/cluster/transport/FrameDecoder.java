package io.tessera.cluster.transport;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.handler.codec.CorruptedFrameException;
import io.netty.handler.codec.TooLongFrameException;
import java.util.List;
import java.util.function.IntSupplier;

/**
 * Cuts the byte stream into {@link Frame}s. The largest frame allowed is asked for each frame, so
 * that it can grow once a connection has authenticated (and again once a worker knows its plan). A
 * frame whose declared length exceeds it fails the connection as soon as the length field has
 * arrived: nothing is buffered for it. One frame per call, so that the handler sees a frame (e.g.
 * the HELLO that raises the limit) before the next one is cut.
 */
final class FrameDecoder extends ByteToMessageDecoder {

    private final IntSupplier maxFrameBytes;
    private final WireCounters counters;

    /** @param maxFrameBytes the largest frame accepted now, header included */
    FrameDecoder(IntSupplier maxFrameBytes, WireCounters counters) {
        this.maxFrameBytes = maxFrameBytes;
        this.counters = counters;
    }

    @Override
    protected void decode(ChannelHandlerContext ctx, ByteBuf in, List<Object> out) {
        if (in.readableBytes() < 4) {
            return;
        }
        long length = in.getUnsignedIntLE(in.readerIndex());
        long frameBytes = 4 + length;
        int max = maxFrameBytes.getAsInt();
        if (frameBytes > max) {
            throw new TooLongFrameException("a frame of " + frameBytes + " bytes exceeds the limit of " + max
                    + " bytes");
        }
        if (frameBytes < Frame.HEADER_BYTES) {
            throw new CorruptedFrameException("a frame of " + frameBytes + " bytes is shorter than its header");
        }
        if (in.readableBytes() < frameBytes) {
            return;
        }
        in.skipBytes(4);
        MessageType type;
        try {
            type = MessageType.of(in.readUnsignedByte());
        } catch (IllegalArgumentException e) {
            throw new CorruptedFrameException(e.getMessage());
        }
        int source = in.readShortLE();
        long tag = in.readLongLE();
        byte[] payload = new byte[(int) (frameBytes - Frame.HEADER_BYTES)];
        in.readBytes(payload);
        counters.received(type, (int) frameBytes);
        out.add(new Frame(type, source, tag, payload));
    }
}
