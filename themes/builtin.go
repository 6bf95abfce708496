package themes

// DefaultName is the theme used when none is chosen: Dark or Light, by the terminal.
const DefaultName = "default"

// BuiltinNames lists the built-in themes in the order a key cycles them.
func BuiltinNames() []string { return []string{DefaultName, "dark", "light", "high-contrast"} }

// Builtin returns the built-in palette called name for a terminal with a dark (or light)
// background, and false when there is none by that name. "default" and "high-contrast"
// follow the terminal; "dark" and "light" are what they say.
func Builtin(name string, isDark bool) (Palette, bool) {
	var p Palette
	switch name {
	case DefaultName, "":
		if isDark {
			p = Dark()
		} else {
			p = Light()
		}
		p.Name = DefaultName
	case "dark":
		p = Dark()
	case "light":
		p = Light()
	case "high-contrast":
		if isDark {
			p = HighContrastDark()
		} else {
			p = HighContrastLight()
		}
		p.Name = "high-contrast"
	default:
		return Palette{}, false
	}
	return p, true
}

// Dark is the palette for dark terminals. Its heatmap is viridis from teal-blue (expected)
// to yellow (surprising), cut where viridis gets too dark to read on a dark background:
// lightness rises monotonically, so it reads under every common colour-vision deficiency.
// The eight stops are viridis samples nudged so that each lands on its own ANSI-256 colour.
func Dark() Palette {
	return Palette{
		Name:       "dark",
		Dark:       true,
		Primary:    "#8fa8ff",
		Foreground: "#d8dae6",
		Subtle:     "#7d8196",
		Border:     "#454a5e",
		Error:      "#ff6b81",
		Warning:    "#f0b35a",
		Success:    "#5fd0a0",
		Focus:      "#c69bff",
		Heatmap: []Color{
			"#31688e", "#26828e", "#1f9e89", "#3bbb75", "#6ece58", "#9dd93b", "#c8e020", "#fde725",
		},
		Heatmap16:    []Color{"4", "12", "6", "14", "2", "10", "3", "11"},
		Unknown:      "#8a8a8a",
		Boundary:     BoundaryUnderline,
		BoundaryStep: "#3a3f52",
	}
}

// Light is the palette for light terminals. Its heatmap runs from dark blue (expected)
// through muted purple and brown to orange (surprising): a cividis-like blue-to-yellow axis
// darkened enough to read on white, and blue against orange is the pair colour-vision
// deficiencies keep apart. The stops sit on the ANSI-256 cube so no two steps merge there.
func Light() Palette {
	return Palette{
		Name:       "light",
		Dark:       false,
		Primary:    "#3b4fc4",
		Foreground: "#24262e",
		Subtle:     "#6b6f80",
		Border:     "#b8bccb",
		Error:      "#c4213f",
		Warning:    "#a15c00",
		Success:    "#1b7f4c",
		Focus:      "#7a3fd1",
		Heatmap: []Color{
			"#005f87", "#5f5f87", "#875f87", "#875f5f", "#af5f5f", "#af5f00", "#d75f00", "#ff5f00",
		},
		Heatmap16:    []Color{"4", "12", "6", "5", "13", "3", "1", "9"},
		Unknown:      "#767676", // ANSI 8 at 16 colours: legible on white, unlike 7
		Boundary:     BoundaryUnderline,
		BoundaryStep: "#c9ccd8",
	}
}

// HighContrastDark is for dark terminals and low vision: bright, saturated colours and a
// heatmap from white through yellow and orange to magenta (lightness falls step by step).
func HighContrastDark() Palette {
	return Palette{
		Name:       "high-contrast-dark",
		Dark:       true,
		Primary:    "#ffff00",
		Foreground: "#ffffff",
		Subtle:     "#c0c0c0",
		Border:     "#ffffff",
		Error:      "#ff5f5f",
		Warning:    "#ffaf00",
		Success:    "#00ff87",
		Focus:      "#00ffff",
		Heatmap: []Color{
			"#ffffff", "#ffffaf", "#ffff5f", "#ffd700", "#ffaf00", "#ff8700", "#ff5f87", "#ff00ff",
		},
		Heatmap16:    []Color{"15", "11", "3", "14", "6", "13", "5", "9"},
		Unknown:      "#8a8a8a",
		Boundary:     BoundaryUnderline,
		BoundaryStep: "#808080",
	}
}

// HighContrastLight is HighContrastDark for light terminals: black text and a heatmap from
// black through dark blue to bright red-magenta.
func HighContrastLight() Palette {
	return Palette{
		Name:       "high-contrast-light",
		Dark:       false,
		Primary:    "#0000af",
		Foreground: "#000000",
		Subtle:     "#3a3a3a",
		Border:     "#000000",
		Error:      "#af0000",
		Warning:    "#875f00",
		Success:    "#005f00",
		Focus:      "#870087",
		Heatmap: []Color{
			"#000000", "#00005f", "#000087", "#0000d7", "#5f00d7", "#8700af", "#af0087", "#d70000",
		},
		Heatmap16:    []Color{"0", "8", "4", "12", "5", "13", "1", "9"},
		Unknown:      "#767676", // ANSI 8 at 16 colours: legible on white, unlike 7
		Boundary:     BoundaryUnderline,
		BoundaryStep: "#808080",
	}
}
