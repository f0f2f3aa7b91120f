//! Frames on a node<->worker socket: a 4-byte big-endian length, then one protobuf message.
//! Decoding reuses tokio-util's length-delimited codec on both sides.

use bytes::{BufMut, BytesMut};
use ff_proto::{FRAME_HEADER_LEN, MAX_FRAME_LEN};
use prost::Message;
use tokio_util::codec::{Decoder, LengthDelimitedCodec};

use crate::error::{Result, RuntimeError};

/// Appends `message` as one frame to `out`.
pub fn encode_into<M: Message>(message: &M, out: &mut BytesMut) {
    let len = message.encoded_len();
    out.reserve(FRAME_HEADER_LEN + len);
    out.put_u32(len as u32);
    message.encode(out).expect("reserved enough capacity");
}

pub fn encode<M: Message>(message: &M) -> BytesMut {
    let mut out = BytesMut::new();
    encode_into(message, &mut out);
    out
}

/// Splits complete frames off a byte stream and decodes them as `M`.
pub struct FrameDecoder {
    codec: LengthDelimitedCodec,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    pub fn new() -> Self {
        let codec = LengthDelimitedCodec::builder()
            .length_field_length(FRAME_HEADER_LEN)
            .max_frame_length(MAX_FRAME_LEN)
            .new_codec();
        Self { codec }
    }

    /// The next whole message in `buffer`, if one has fully arrived.
    pub fn next<M: Message + Default>(&mut self, buffer: &mut BytesMut) -> Result<Option<M>> {
        let Some(frame) = self
            .codec
            .decode(buffer)
            .map_err(|e| RuntimeError::Protocol(e.to_string()))?
        else {
            return Ok(None);
        };
        M::decode(frame.freeze())
            .map(Some)
            .map_err(|e| RuntimeError::Protocol(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ff_proto::{to_node, Register, ToNode};

    #[test]
    fn frames_round_trip_even_when_split_across_reads() {
        let message = ToNode {
            fd_count: 0,
            msg: Some(to_node::Msg::Register(Register {
                worker_id: vec![1; 28].into(),
                pid: 42,
                attach_driver: false,
            })),
        };
        let mut wire = encode(&message);
        encode_into(&message, &mut wire);
        let mut decoder = FrameDecoder::new();
        let mut buffer = BytesMut::new();
        let mut decoded = Vec::new();
        for byte in wire.iter() {
            buffer.put_u8(*byte);
            while let Some(m) = decoder.next::<ToNode>(&mut buffer).unwrap() {
                decoded.push(m);
            }
        }
        assert_eq!(decoded, vec![message.clone(), message]);
    }
}
