package local

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
)

// stTensor is one tensor of a safetensors file, converted to float32.
type stTensor struct {
	shape []int
	data  []float32 // nil when half is set
	half  []uint16  // F16 tensors keep their bits
}

// f32 returns the values as float32.
func (t stTensor) f32() []float32 {
	if t.half == nil {
		return t.data
	}
	out := make([]float32, len(t.half))
	for i, h := range t.half {
		out[i] = f16ToF32(h)
	}
	return out
}

type stHeaderEntry struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// parseSafetensors reads a safetensors file held in memory. F16, BF16 and
// F32 become float32; an I8 tensor "X" is dequantised with the F32 per-row
// tensor "X.scale" (row r of X times scale[r]) and "X.scale" itself is not
// returned.
func parseSafetensors(b []byte) (map[string]stTensor, map[string]string, error) {
	if len(b) < 8 {
		return nil, nil, fmt.Errorf("safetensors: file is %d bytes, shorter than the 8-byte header length", len(b))
	}
	n := binary.LittleEndian.Uint64(b[:8])
	if n > uint64(len(b)-8) {
		return nil, nil, fmt.Errorf("safetensors: header length %d runs past the end of the %d-byte file", n, len(b))
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header JSON: %w", err)
	}
	data := b[8+n:]
	meta := map[string]string{}
	entries := map[string]stHeaderEntry{}
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e stHeaderEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		entries[name] = e
	}
	names := make([]string, 0, len(entries))
	for name := range entries {
		names = append(names, name)
	}
	sort.Strings(names)
	rawBytes := func(name string, e stHeaderEntry, elemSize int) ([]byte, int, error) {
		count := 1
		for _, d := range e.Shape {
			if d < 0 {
				return nil, 0, fmt.Errorf("safetensors: tensor %q has negative dimension in shape %v", name, e.Shape)
			}
			count *= d
		}
		lo, hi := e.DataOffsets[0], e.DataOffsets[1]
		if lo < 0 || hi < lo || hi > int64(len(data)) {
			return nil, 0, fmt.Errorf("safetensors: tensor %q data_offsets [%d,%d] outside the %d-byte data section", name, lo, hi, len(data))
		}
		if hi-lo != int64(count*elemSize) {
			return nil, 0, fmt.Errorf("safetensors: tensor %q is %s %v (%d bytes) but data_offsets span %d bytes", name, e.DType, e.Shape, count*elemSize, hi-lo)
		}
		return data[lo:hi], count, nil
	}
	out := make(map[string]stTensor, len(entries))
	for _, name := range names {
		e := entries[name]
		var t stTensor
		t.shape = append([]int(nil), e.Shape...)
		switch e.DType {
		case "F16", "BF16", "F32":
			size := 2
			if e.DType == "F32" {
				size = 4
			}
			rb, count, err := rawBytes(name, e, size)
			if err != nil {
				return nil, nil, err
			}
			if e.DType == "F16" {
				t.half = make([]uint16, count)
				for i := range t.half {
					t.half[i] = binary.LittleEndian.Uint16(rb[2*i:])
				}
				break
			}
			t.data = make([]float32, count)
			for i := range t.data {
				switch e.DType {
				case "BF16":
					t.data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(rb[2*i:])) << 16)
				default:
					t.data[i] = math.Float32frombits(binary.LittleEndian.Uint32(rb[4*i:]))
				}
			}
		case "I8":
			rb, count, err := rawBytes(name, e, 1)
			if err != nil {
				return nil, nil, err
			}
			se, ok := entries[name+".scale"]
			if !ok {
				return nil, nil, fmt.Errorf("safetensors: I8 tensor %q has no %q tensor", name, name+".scale")
			}
			if se.DType != "F32" && se.DType != "F16" {
				return nil, nil, fmt.Errorf("safetensors: scale %q is %s, want F32 or F16", name+".scale", se.DType)
			}
			rows := 1
			if len(e.Shape) > 0 {
				rows = e.Shape[0]
			}
			ssize := 4
			if se.DType == "F16" {
				ssize = 2
			}
			sb, scount, err := rawBytes(name+".scale", se, ssize)
			if err != nil {
				return nil, nil, err
			}
			if scount != rows {
				return nil, nil, fmt.Errorf("safetensors: scale %q has %d values, want one per row of %q (%d)", name+".scale", scount, name, rows)
			}
			cols := 1
			if rows > 0 {
				cols = count / rows
			}
			t.data = make([]float32, count)
			for r := 0; r < rows; r++ {
				var s float32
				if ssize == 4 {
					s = math.Float32frombits(binary.LittleEndian.Uint32(sb[4*r:]))
				} else {
					s = f16ToF32(binary.LittleEndian.Uint16(sb[2*r:]))
				}
				for c := 0; c < cols; c++ {
					t.data[r*cols+c] = float32(int8(rb[r*cols+c])) * s
				}
			}
		default:
			return nil, nil, fmt.Errorf("safetensors: tensor %q has dtype %s; want F16, BF16, F32 or I8", name, e.DType)
		}
		out[name] = t
	}
	// Per-row scales were folded into their I8 tensors above.
	for name := range out {
		if base := trimScale(name); base != name {
			if be, ok := entries[base]; ok && be.DType == "I8" {
				delete(out, name)
			}
		}
	}
	return out, meta, nil
}

func trimScale(name string) string {
	const suffix = ".scale"
	if len(name) > len(suffix) && name[len(name)-len(suffix):] == suffix {
		return name[:len(name)-len(suffix)]
	}
	return name
}

// f16ToF32 converts IEEE 754 half precision, subnormals, infinities and NaN
// included.
func f16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp == 0:
		if mant == 0 {
			return math.Float32frombits(sign)
		}
		// Subnormal half: value = mant * 2^-24.
		f := float32(mant) * (1.0 / (1 << 24))
		if sign != 0 {
			f = -f
		}
		return f
	default:
		return math.Float32frombits(sign | (exp+127-15)<<23 | mant<<13)
	}
}
