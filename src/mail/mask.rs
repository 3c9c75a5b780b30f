//! What outputs show of a person: phone and account numbers masked, and
//! the access rule (a recipient sees an item or certificate only when
//! their phone equals the recipient's phone).

/// A phone number as every output shows it: the first three and last four
/// digits (`13712343382` → `137****3382`); a shorter number keeps only
/// its last two.
pub fn phone(number: &str) -> String {
    keep(number, 3, 4)
}

/// An account number as every output shows it: the first two and last four
/// digits (`6222021234565839` → `62****5839`).
pub fn account(number: &str) -> String {
    keep(number, 2, 4)
}

/// An ID number: the first three and last two characters.
pub fn id_number(number: &str) -> String {
    keep(number, 3, 2)
}

fn keep(text: &str, head: usize, tail: usize) -> String {
    let chars: Vec<char> = text.trim().chars().collect();
    let n = chars.len();
    if n > head.saturating_add(tail) {
        let first: String = chars.iter().take(head).collect();
        let last: String = chars.iter().skip(n.saturating_sub(tail)).collect();
        format!("{first}****{last}")
    } else {
        let last: String = chars.iter().skip(n.saturating_sub(2)).collect();
        format!("****{last}")
    }
}

/// The digits of a phone number (`+86 137-1234-3382` → `13712343382`):
/// what two phones are compared by.
pub fn phone_digits(number: &str) -> String {
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    match digits.strip_prefix("86") {
        Some(rest) if rest.len() == 11 => rest.to_owned(),
        _ => digits,
    }
}

/// Whether the person with phone `asker` may see what is addressed to
/// `recipient`: the same phone, and not empty.
pub fn may_see(asker: &str, recipient: &str) -> bool {
    let a = phone_digits(asker);
    !a.is_empty() && a == phone_digits(recipient)
}

/// Masks, in a postal-items message about to go to a recipient, what no
/// output shows whole: `account` (开户账号) and `recipientIdNumber`. A value
/// already masked is left as it is. Other messages are not touched.
pub fn mask_message(msg: &mut crate::model::Message) {
    if msg.spec.namespace != crate::schema::Namespace::Mail {
        return;
    }
    type Mask = fn(&str) -> String;
    let rules: [(&str, Mask); 2] = [("account", account), ("recipientIdNumber", id_number)];
    for d in &mut msg.documents {
        for (name, mask) in rules {
            let Some(i) = d.head.spec().fields.iter().position(|f| f.name == name) else {
                continue;
            };
            let value = d.head.value(i).to_string();
            if !value.trim().is_empty() && !value.contains("****") {
                d.head.set_text(i, &mask(&value));
            }
        }
    }
}
