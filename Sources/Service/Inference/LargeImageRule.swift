import Restoration

/// The demo's large-image guards applied to the requested options, as the pipeline applies them:
/// above `reduceToOneAbove` upscale becomes 1 and both Real-ESRGAN options go off; above
/// `reduceToTwoAbove` an upscale over 2 becomes 2. The service uses it before queueing, to know
/// which models a request will need; the response reports what the pipeline actually applied.
enum LargeImageRule {
    static func applied(_ options: RestorationOptions, width: Int, height: Int) -> RestorationOptions {
        var applied = options
        let longer = max(width, height)
        if let one = options.limits.reduceToOneAbove, longer > one {
            applied.upscale = 1
            applied.backgroundEnhance = false
            applied.faceUpsample = false
        } else if let two = options.limits.reduceToTwoAbove, longer > two, applied.upscale > 2 {
            applied.upscale = 2
        }
        return applied
    }
}
