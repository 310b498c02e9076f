//! Pricing a cart from the product projection: the one place where cart
//! lines get their prices, for `GET /cart` and for checkout alike.

use std::collections::HashMap;

use contracts::ProductId;
use contracts::events::OrderLine;

use crate::model::{
    Cart, CartLineView, CartView, Listing, PricedLines, ProjectedProduct, Unavailability,
    UnavailableLineView,
};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the cart's total does not fit in 64 bits")]
pub struct TotalOverflow;

/// Prices every line at the projection's current price. The cart's currency
/// is the currency of its first purchasable line (in the order lines were
/// added); a line whose price has since moved to another currency is listed
/// as unavailable rather than summed into a meaningless total.
pub fn price_cart(
    cart: &Cart,
    products: &HashMap<ProductId, ProjectedProduct>,
) -> Result<CartView, TotalOverflow> {
    let mut view = CartView {
        items: Vec::new(),
        total: 0,
        currency: None,
        unavailable: Vec::new(),
    };
    for item in &cart.items {
        let product = products.get(&item.product_id);
        let unavailable = |reason| UnavailableLineView {
            product_id: item.product_id,
            sku: product.map(|p| p.sku.clone()),
            quantity: item.quantity.get(),
            reason,
        };
        let Some((
            product,
            Listing::OnSale {
                name,
                price,
                currency,
            },
        )) = product.map(|p| (p, &p.listing))
        else {
            view.unavailable
                .push(unavailable(Unavailability::NotInCatalog));
            continue;
        };
        if view.currency.is_some_and(|c| c != *currency) {
            view.unavailable
                .push(unavailable(Unavailability::CurrencyChanged));
            continue;
        }
        let line_total = price
            .checked_mul(i64::from(item.quantity.get()))
            .ok_or(TotalOverflow)?;
        view.total = view.total.checked_add(line_total).ok_or(TotalOverflow)?;
        view.currency = Some(*currency);
        view.items.push(CartLineView {
            product_id: item.product_id,
            sku: product.sku.clone(),
            name: name.clone(),
            unit_price: *price,
            currency: *currency,
            quantity: item.quantity.get(),
            line_total,
        });
    }
    Ok(view)
}

/// The order lines of a fully purchasable cart; `None` when nothing in it
/// can be bought.
pub fn order_lines(view: &CartView) -> Option<PricedLines> {
    let currency = view.currency?;
    Some(PricedLines {
        lines: view
            .items
            .iter()
            .map(|l| OrderLine {
                product_id: l.product_id,
                sku: l.sku.clone(),
                name: l.name.clone(),
                unit_price: l.unit_price,
                quantity: l.quantity,
            })
            .collect(),
        total: view.total,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use contracts::{Currency, UserId};
    use time::macros::datetime;

    use super::*;
    use crate::model::{CartItem, Quantity};

    fn on_sale(price: i64, currency: Currency) -> (ProductId, ProjectedProduct) {
        let id = ProductId::new();
        (
            id,
            ProjectedProduct {
                product_id: id,
                version: 1,
                sku: format!("SKU-{price}"),
                listing: Listing::OnSale {
                    name: format!("Thing {price}"),
                    price,
                    currency,
                },
            },
        )
    }

    fn cart(lines: &[(ProductId, u32)]) -> Cart {
        Cart {
            user_id: UserId::new(),
            items: lines
                .iter()
                .map(|(id, q)| CartItem {
                    product_id: *id,
                    quantity: Quantity::new(*q).expect("quantity"),
                    added_at: datetime!(2026-11-21 10:00 UTC),
                })
                .collect(),
            version: 1,
        }
    }

    #[test]
    fn lines_are_priced_from_the_projection_and_summed() {
        let (a, pa) = on_sale(1_250, Currency::EUR);
        let (b, pb) = on_sale(99, Currency::EUR);
        let products = HashMap::from([(a, pa), (b, pb)]);

        let view = price_cart(&cart(&[(a, 2), (b, 3)]), &products).expect("priced");

        assert_eq!(view.currency, Some(Currency::EUR));
        assert_eq!(view.total, 2 * 1_250 + 3 * 99);
        assert!(view.unavailable.is_empty());
        assert_eq!(view.items.len(), 2);
        let first = &view.items[0];
        assert_eq!(first.product_id, a);
        assert_eq!(first.sku, "SKU-1250");
        assert_eq!(first.name, "Thing 1250");
        assert_eq!(
            (first.unit_price, first.quantity, first.line_total),
            (1_250, 2, 2_500)
        );
        assert_eq!(
            serde_json::to_value(first).expect("json"),
            serde_json::json!({
                "product_id": a.to_string(), "sku": "SKU-1250", "name": "Thing 1250",
                "unit_price": 1250, "currency": "EUR", "quantity": 2, "line_total": 2500,
            })
        );

        let priced = order_lines(&view).expect("purchasable");
        assert_eq!(priced.total, view.total);
        assert_eq!(priced.lines[1].unit_price, 99);
        assert_eq!(priced.lines[1].quantity, 3);
    }

    #[test]
    fn deleted_unknown_and_other_currency_lines_are_set_apart() {
        let (a, pa) = on_sale(500, Currency::USD);
        let (b, pb) = on_sale(700, Currency::GBP);
        let gone = ProductId::new();
        let unknown = ProductId::new();
        let tombstone = ProjectedProduct {
            product_id: gone,
            version: 3,
            sku: "GONE-1".into(),
            listing: Listing::Deleted,
        };
        let products = HashMap::from([(a, pa), (b, pb), (gone, tombstone)]);

        let view = price_cart(&cart(&[(gone, 1), (a, 2), (b, 1), (unknown, 4)]), &products)
            .expect("priced");

        // The first purchasable line sets the currency.
        assert_eq!(view.currency, Some(Currency::USD));
        assert_eq!(view.total, 1_000);
        assert_eq!(view.items.len(), 1);
        let reasons: Vec<_> = view
            .unavailable
            .iter()
            .map(|u| (u.product_id, u.sku.as_deref(), u.quantity, u.reason))
            .collect();
        assert_eq!(
            reasons,
            vec![
                (gone, Some("GONE-1"), 1, Unavailability::NotInCatalog),
                (b, Some("SKU-700"), 1, Unavailability::CurrencyChanged),
                (unknown, None, 4, Unavailability::NotInCatalog),
            ]
        );
        assert_eq!(
            serde_json::to_value(&view.unavailable[1]).expect("json")["reason"],
            "currency_changed"
        );
    }

    #[test]
    fn an_empty_or_unpurchasable_cart_has_no_currency_and_no_lines() {
        let view = price_cart(&cart(&[]), &HashMap::new()).expect("priced");
        assert_eq!(view.total, 0);
        assert_eq!(view.currency, None);
        assert!(order_lines(&view).is_none());
        assert_eq!(
            serde_json::to_value(&view).expect("json"),
            serde_json::json!({"items": [], "total": 0, "currency": null, "unavailable": []})
        );

        let view = price_cart(&cart(&[(ProductId::new(), 1)]), &HashMap::new()).expect("priced");
        assert!(order_lines(&view).is_none());
    }

    #[test]
    fn absurd_totals_are_an_error_not_a_wrap() {
        let (a, pa) = on_sale(i64::MAX / 2, Currency::USD);
        let products = HashMap::from([(a, pa)]);
        assert_eq!(price_cart(&cart(&[(a, 3)]), &products), Err(TotalOverflow));
    }
}
