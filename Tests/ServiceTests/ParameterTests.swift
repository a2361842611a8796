import Testing
@testable import Service
import HTTPTypes
import Restoration

@Suite("Process parameters: defaults, coercion, ranges")
struct ParameterTests {
    @Test("absent, empty and null parameters keep the contract's defaults")
    func defaults() throws {
        for values: [String: ParameterValue] in [[:], ["fidelity": .text(""), "upscale": .text("  ")], ["fidelity": .null, "return_base64": .null]] {
            let parameters = try ProcessParameters(values)
            #expect(parameters == ProcessParameters())
            #expect(parameters.fidelity == 0.5)
            #expect(parameters.upscale == 2)
            #expect(!parameters.backgroundEnhance && !parameters.faceUpsample && !parameters.returnBase64)
        }
    }

    @Test("fidelity from text or JSON number, inclusive range [0, 1]")
    func fidelity() throws {
        #expect(try ProcessParameters(["fidelity": .text("0.7")]).fidelity == 0.7)
        #expect(try ProcessParameters(["fidelity": .text(" 1 ")]).fidelity == 1)
        #expect(try ProcessParameters(["fidelity": .number(0)]).fidelity == 0)
        #expect(try ProcessParameters(["fidelity": .text("5e-1")]).fidelity == 0.5)
        #expect(try ProcessParameters(["fidelity": .text(".25")]).fidelity == 0.25)
        #expect(try ProcessParameters(["fidelity": .text("+1.")]).fidelity == 1)
        for bad: ParameterValue in [.text("1.5"), .number(-0.1), .text("abc"), .text("nan"), .text("inf"), .bool(true), .structured("array"),
                                    .text("0x1p-1"), .text("0X.8p0"), .text("infinity"), .text("1e"), .text("."), .text("1..0"), .text("0.5f"),
                                    .text("٠.٥")] {
            #expect(throws: ServiceError.self, "\(bad)") { try ProcessParameters(["fidelity": bad]) }
        }
        #expect(throws: ServiceError.invalidParameter(name: "fidelity", value: "'1.5'", expected: "a number from 0 to 1")) {
            try ProcessParameters(["fidelity": .text("1.5")])
        }
    }

    @Test("upscale is 1, 2 or 4, from text or an integral number")
    func upscale() throws {
        #expect(try ProcessParameters(["upscale": .text("4")]).upscale == 4)
        #expect(try ProcessParameters(["upscale": .number(1)]).upscale == 1)
        #expect(try ProcessParameters(["upscale": .text("2.0")]).upscale == 2)
        for bad: ParameterValue in [.text("3"), .number(3), .number(8), .number(0), .text("2.5"), .text("two"), .bool(true)] {
            #expect(throws: ServiceError.self) { try ProcessParameters(["upscale": bad]) }
        }
        #expect(throws: ServiceError.invalidParameter(name: "upscale", value: "3", expected: "1, 2 or 4")) {
            try ProcessParameters(["upscale": .number(3)])
        }
    }

    @Test("booleans: true/false, 1/0, yes/no, on/off in any case, JSON booleans and 0/1")
    func booleans() throws {
        for word in ["true", "TRUE", "True", "1", "yes", "YES", "on", "On", " true "] {
            let parameters = try ProcessParameters(["background_enhance": .text(word), "face_upsample": .text(word), "return_base64": .text(word)])
            #expect(parameters.backgroundEnhance && parameters.faceUpsample && parameters.returnBase64, "\(word)")
        }
        for word in ["false", "FALSE", "0", "no", "No", "off", "OFF"] {
            let parameters = try ProcessParameters(["background_enhance": .text(word), "face_upsample": .text(word), "return_base64": .text(word)])
            #expect(!parameters.backgroundEnhance && !parameters.faceUpsample && !parameters.returnBase64, "\(word)")
        }
        #expect(try ProcessParameters(["return_base64": .bool(true)]).returnBase64)
        #expect(try ProcessParameters(["return_base64": .number(1)]).returnBase64)
        #expect(try !ProcessParameters(["return_base64": .number(0)]).returnBase64)
        for bad: ParameterValue in [.text("maybe"), .text("2"), .number(2), .structured("object")] {
            #expect(throws: ServiceError.self) { try ProcessParameters(["face_upsample": bad]) }
        }
    }

    @Test("unknown parameters are ignored")
    func unknown() throws {
        #expect(try ProcessParameters(["only_center_face": .text("banana"), "draw_box": .bool(true)]) == ProcessParameters())
    }

    @Test("the pipeline gets the API's four options and the configured large-image limits")
    func restorationOptions() throws {
        let parameters = try ProcessParameters(["fidelity": .number(0.25), "upscale": .number(4), "background_enhance": .bool(true),
                                                "face_upsample": .text("yes")])
        let options = parameters.restorationOptions(limits: .init(reduceToTwoAbove: 10, reduceToOneAbove: nil))
        #expect(options.fidelity == 0.25 && options.upscale == 4 && options.backgroundEnhance && options.faceUpsample)
        #expect(options.limits == .init(reduceToTwoAbove: 10, reduceToOneAbove: nil))
        #expect(!options.onlyCenterFace && !options.hasAligned && options.useParse)
    }
}
