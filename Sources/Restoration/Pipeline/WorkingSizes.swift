import Imaging

/// The largest images a whole-photo restoration will hold, known from the file's size and the
/// applied options before anything is decoded or allocated. The header's pixel count says little
/// on its own: a 3x100000 PNG (2 KB, 300 000 pixels) becomes a 512x17066667 image when the demo
/// enlarges its short side to 512, and the detector's copy is larger still. Checking every stage
/// against one pixel limit turns such files into a clear refusal instead of an allocation that
/// ends the process.
package struct WorkingSizes: Sendable, Equatable {
    /// One image the pipeline makes.
    package struct Stage: Sendable, Equatable, CustomStringConvertible {
        package let name: String
        package let width: Int
        package let height: Int

        package var pixels: Int { width.multipliedReportingOverflow(by: height).overflow ? .max : width * height }
        package var description: String { "\(name) (\(width)x\(height))" }
    }

    package let stages: [Stage]

    /// - Parameters:
    ///   - width, height: the decoded file's size (EXIF rotation does not change any pixel count).
    ///   - options: the options after the large-image rules (`FaceRestorationPipeline.applying`).
    ///   - upsamplerScale: the Real-ESRGAN model's own scale (2 for x2plus), when it will run.
    package init(width: Int, height: Int, options: RestorationOptions, upsamplerScale: Int = 2) {
        guard !options.hasAligned else {
            stages = [Stage(name: "the decoded image", width: width, height: height),
                      Stage(name: "the aligned face", width: 512, height: 512)]
            return
        }
        let enlarged = InputPhoto.enlargedSize(width: width, height: height)
        let detector = FaceDetector.detectorSize(width: enlarged.width, height: enlarged.height)
        let scale = options.upscale
        var stages = [
            Stage(name: "the decoded image", width: width, height: height),
            Stage(name: "the photo enlarged to a short side of \(InputPhoto.minimumShortSide) px", width: enlarged.width, height: enlarged.height),
            Stage(name: "the face detector's input", width: detector.width, height: detector.height),
            Stage(name: "the result at upscale \(scale)", width: Self.times(enlarged.width, scale), height: Self.times(enlarged.height, scale)),
        ]
        if options.backgroundEnhance {
            stages.append(Stage(name: "Real-ESRGAN's background", width: Self.times(width, upsamplerScale),
                                height: Self.times(height, upsamplerScale)))
        }
        self.stages = stages
    }

    /// The first stage over `maxPixels`, if any.
    package func firstOver(_ maxPixels: Int) -> Stage? {
        stages.first { $0.pixels > maxPixels }
    }

    private static func times(_ side: Int, _ factor: Int) -> Int {
        let (product, overflow) = side.multipliedReportingOverflow(by: factor)
        return overflow ? .max : product
    }
}
