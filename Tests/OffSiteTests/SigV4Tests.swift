import Foundation
import OffSite
import XCTest

final class SigV4Tests: XCTestCase {
    /// The worked example of the S3 documentation ("GET Object", sig-v4-header-based-auth).
    func testTheDocumentedGetObjectExample() throws {
        let signer = SigV4(credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                     secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                           region: "us-east-1")
        let date = ISO8601DateFormatter().date(from: "2013-05-24T00:00:00Z")!
        let headers = signer.sign(method: "GET", path: "/test.txt", query: [],
                                  headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")],
                                  payloadSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", date: date)
        let auth = try XCTUnwrap(headers.first { $0.0 == "Authorization" }?.1)
        XCTAssertEqual(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                       + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                       + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        XCTAssertEqual(headers.first { $0.0 == "x-amz-date" }?.1, "20130524T000000Z")
    }

    /// The documented "GET Bucket (List Objects)" example: query parameters are signed sorted and encoded.
    func testTheDocumentedListObjectsExample() throws {
        let signer = SigV4(credentials: S3Credentials(accessKeyID: "AKIAIOSFODNN7EXAMPLE",
                                                     secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
                           region: "us-east-1")
        let date = ISO8601DateFormatter().date(from: "2013-05-24T00:00:00Z")!
        let headers = signer.sign(method: "GET", path: "/", query: [("prefix", "J"), ("max-keys", "2")],
                                  headers: [("Host", "examplebucket.s3.amazonaws.com")],
                                  payloadSHA256: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", date: date)
        let auth = try XCTUnwrap(headers.first { $0.0 == "Authorization" }?.1)
        XCTAssertTrue(auth.hasSuffix("Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7"), auth)
    }

    func testEncodingAndLocations() {
        XCTAssertEqual(SigV4.encode("a b/c~d", keepSlash: true), "a%20b/c~d")
        XCTAssertEqual(SigV4.encode("a/b"), "a%2Fb")
        let l = S3Location(url: "s3://bucket/some/prefix/")!
        XCTAssertEqual(l.bucket, "bucket")
        XCTAssertEqual(l.key("segments/x.seg"), "some/prefix/segments/x.seg")
        XCTAssertNil(S3Location(url: "/tmp/archive"))
        XCTAssertEqual(S3Location(url: "s3://b")!.key("archive.json"), "archive.json")
        XCTAssertFalse("\(S3Credentials(accessKeyID: "AK", secretAccessKey: "very-secret"))".contains("very-secret"))
    }
}
