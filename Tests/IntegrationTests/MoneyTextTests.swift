@testable import FanOut
import XCTest

/// `money`'s text as PostgreSQL writes it in different `lc_monetary` locales (the suite's servers only
/// have C: the others are the forms glibc's locales give), read as a plain number.
final class MoneyTextTests: XCTestCase {
    func testMoneyTextIsReadInTheFormsLocalesWrite() {
        let cases: [(String, String?)] = [
            ("$1,234.11", "1234.11"),            // C, en_US
            ("-$1,234.11", "-1234.11"),          // C, en_US negative
            ("($1,234.11)", "-1234.11"),         // accounting form
            ("$0.00", "0.00"),
            ("-$92,233,720,368,547,758.08", "-92233720368547758.08"),
            ("1.234,11 €", "1234.11"),           // de_DE
            ("-1.234,11 €", "-1234.11"),
            ("€ 1.234,11", "1234.11"),           // nl_NL
            ("¥1,234", "1234"),                  // ja_JP: no fraction digits
            ("1,234.567 KD", "1234.567"),        // three fraction digits after a different thousands separator
            ("CHF 1'234.50", "1234.50"),         // de_CH
            ("$", nil),
        ]
        for (text, want) in cases {
            XCTAssertEqual(ValueForms.money(Array(text.utf8)).map { String(decoding: $0, as: UTF8.self) }, want, text)
        }
    }
}
